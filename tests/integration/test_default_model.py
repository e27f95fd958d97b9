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
        "--verify",
        "off",  # the reading itself (a math check would decide this pair by a program)
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


def test_the_default_knockout_crowns_the_right_sum_in_every_ordering(tmp_path):
    """The README's four-way knockout: reading alone crowned "25 + 17 = 52" in all three
    orderings; with the default checks a program computes 42 once for the prompt and the
    matches against "42" are decided by it, wherever it stands in the bracket."""
    answers = ["25 + 17 = 32", "25 + 17 = 42", "25 + 17 = 52", "25 + 17 = 41"]
    orderings = [answers, answers[::-1], answers[2:] + answers[:2]]
    candidates = tmp_path / "candidates.jsonl"
    rows = [
        {"id": str(i), "prompt": "What is 25 + 17?", "responses": o}
        for i, o in enumerate(orderings)
    ]
    candidates.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "ranked.jsonl"
    done = run_cli("rank", "--input", str(candidates), "--output", str(out), "--method", "knockout")
    assert done.returncode == 0, done.stderr
    for row, ranked in zip(
        rows, [json.loads(line) for line in out.read_text().splitlines()], strict=True
    ):
        champion = row["responses"][ranked["ranking"][0]]
        assert champion == "25 + 17 = 42", ranked
        decided = [m for m in ranked["matches"] if m["judgment"]["decided_by"] == "math"]
        assert len(decided) >= 2  # every match of the champion's


def test_a_coding_pair_is_decided_by_running_the_prompts_examples():
    prompt = (
        "Write a Python function `below_zero(operations: List[int]) -> bool` to solve the "
        "following problem:\nDetect if the balance ever falls below zero.\n"
        ">>> below_zero([1, 2, 3])\nFalse\n>>> below_zero([1, 2, -4, 5])\nTrue\n"
    )
    body = "    balance = 0\n    for op in operations:\n        balance += op\n        if balance {} 0:\n            return True\n    return False\n"
    done = run_cli(
        "judge", "--prompt", prompt, "--a", body.format("=="), "--b", body.format("<"), "--json"
    )
    assert done.returncode == 0, done.stderr
    j = json.loads(done.stdout)
    assert j["winner"] == "B" and j["decided_by"] == "code" and j["p_a"] < 0.05, j


def test_a_knockout_with_a_solved_reference_crowns_the_right_sum(tmp_path):
    """Without a reference the default reads almost even odds between "32" and "42" (p_a
    0.51 in the issue's run) and crowns a wrong sum; solving the prompt first (one call,
    shared by every match) gives the matches a reference and the right answer wins (checks
    off: this is the reading with a reference)."""
    candidates = tmp_path / "candidates.jsonl"
    row = {
        "prompt": "What is 25 + 17?",
        "responses": ["25 + 17 = 32", "25 + 17 = 42", "25 + 17 = 52", "25 + 17 = 41"],
    }
    candidates.write_text(json.dumps(row) + "\n")
    out = tmp_path / "ranked.jsonl"
    args = ["rank", "--input", str(candidates), "--output", str(out), "--method", "knockout"]
    done = run_cli(*args, "--reference", "self", "--verify", "off")
    assert done.returncode == 0, done.stderr
    (ranked,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert ranked["ranking"][0] == 1, ranked
    assert all(m["judgment"]["reference"] for m in ranked["matches"])
