"""A model file that is not a usable GGUF ends `reasonrm judge` with one line naming it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def _reasonrm() -> list[str]:
    """The installed `reasonrm` command, as a user runs it (or the module, if not installed)."""
    script = Path(sys.executable).with_name("reasonrm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reasonrm.cli"]


def _judge(model: Path | str) -> subprocess.CompletedProcess:
    cmd = [*_reasonrm(), "judge", "--model", str(model), "--prompt", "x", "--a", "y", "--b", "z"]
    env = os.environ | {"COLUMNS": "80"}  # narrow: a wrapped message would show as two lines
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def _assert_one_line_naming(done: subprocess.CompletedProcess, model: Path, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and str(model) in lines[0] and message in lines[0]


def test_a_file_that_is_not_a_gguf(tmp_path):
    model = tmp_path / "corrupt.gguf"
    model.write_bytes(b"<!DOCTYPE html><title>Download limit reached</title>" * 40)
    _assert_one_line_naming(_judge(model), model, "is not a valid GGUF file")


def test_a_gguf_cut_off_after_its_header(tmp_path, smollm2_path):
    # Passes the header check; llama.cpp's own failure to load it becomes the one line.
    model = tmp_path / "cut.gguf"
    with open(smollm2_path, "rb") as src, open(model, "wb") as dst:
        dst.write(src.read(1 << 20))
    _assert_one_line_naming(_judge(model), model, "llama.cpp could not load")


def test_a_registry_model_damaged_in_the_cache_is_refused(tmp_path, smollm2_path, monkeypatch):
    from reasonrm import models

    monkeypatch.setenv("REASONRM_CACHE", str(tmp_path / "cache"))
    cached = models.model_path("smollm2-135m")
    cached.parent.mkdir(parents=True)
    shutil.copyfile(smollm2_path, cached)
    models.verify("smollm2-135m")  # verified once, then damaged in place
    with open(cached, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff\xfe")
    st = cached.stat()
    os.utime(cached, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    done = _judge("smollm2-135m")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "sha256" in last and "run `reasonrm models pull smollm2-135m`" in last
    assert not cached.exists()
