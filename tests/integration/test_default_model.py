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
        "--score",
        "vote",  # the papers' sampled verdicts; the default's probabilities are tested below
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


def run_cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "reasonrm.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800)


@pytest.mark.parametrize(
    "prompt, a, b, better",
    [
        # the README's quick-start pair
        ("What is the capital of Australia?", "Sydney, its largest city.", "Canberra.", "B"),
        (
            "14 pens cost 3 dollars each. How much do they cost in all?",
            "42 dollars.",
            "52 dollars.",
            "A",
        ),
    ],
)
def test_the_default_judge_gets_the_readme_pairs_right(prompt, a, b, better):
    done = run_cli("judge", "--prompt", prompt, "--a", a, "--b", b, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["winner"] == better, done.stdout


def test_a_knockout_with_a_solved_reference_crowns_the_right_sum(tmp_path):
    """Without a reference the default reads almost even odds between "32" and "42" (p_a
    0.51 in the issue's run) and crowns a wrong sum; solving the prompt first (one call,
    shared by every match) gives the matches a reference and the right answer wins."""
    candidates = tmp_path / "candidates.jsonl"
    row = {
        "prompt": "What is 25 + 17?",
        "responses": ["25 + 17 = 32", "25 + 17 = 42", "25 + 17 = 52", "25 + 17 = 41"],
    }
    candidates.write_text(json.dumps(row) + "\n")
    out = tmp_path / "ranked.jsonl"
    args = ["rank", "--input", str(candidates), "--output", str(out), "--method", "knockout"]
    done = run_cli(*args, "--reference", "self")
    assert done.returncode == 0, done.stderr
    (ranked,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert ranked["ranking"][0] == 1, ranked
    assert all(m["judgment"]["reference"] for m in ranked["matches"])
