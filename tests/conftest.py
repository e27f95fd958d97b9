import os

# One torch thread: tests share two cores with llama.cpp.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

DATA = Path(
    os.environ.get("REASONRM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The benchmark copies in ../shared/data (or $REASONRM_DATA)."""
    if not DATA.is_dir():
        pytest.skip(
            f"needs the benchmark data in ../shared/data: not at {DATA} (set REASONRM_DATA)"
        )
    return DATA
