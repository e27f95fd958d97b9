"""The embedded default (Qwen2.5-1.5B), as the README's first command runs it. Slow: about a
minute here, plus a 1.1 GB download on first use."""

import json
import subprocess
import sys

import pytest

from reasonrm.types import Judgment

pytestmark = pytest.mark.slow


def test_default_model_judges_a_pair_from_the_cli(judgment_checker):
    cmd = [
        sys.executable,
        "-m",
        "reasonrm.cli",
        "judge",
        "--prompt",
        "What is 12 + 30?",
        "--a",
        "12 + 30 = 42.",
        "--b",
        "12 + 30 = 52.",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["samples"]) == 2 and {s["order"] for s in result["samples"]} == {"AB", "BA"}
    # forcing is on by default, so every vote carries a verdict
    assert result["votes"]["invalid"] == 0
    # the winner and votes are what the two samples' texts say, read back through their order
    judgment_checker(Judgment.from_dict(result), "rrm", grammar=True)
    assert all(s["completion_tokens"] > 0 for s in result["samples"])
