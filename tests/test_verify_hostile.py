"""Hostile responses judged as users judge files of pairs: each one's code runs in the
sandbox, and the batch goes on, every row written, every harm contained, in bounded time."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import pytest
from fakes import ScriptedEngine

from reasonrm import Judge, judge_file
from reasonrm.sandbox import open_sandbox

pytestmark = pytest.mark.skipif(
    open_sandbox("local").why_not("python") is not None,
    reason=f"the local sandbox cannot run here: {open_sandbox('local').why_not('python')}",
)

PROMPT = """Write a Python function `triple(x: int) -> int` to solve the following problem:
Return three times x.
>>> triple(2)
6
>>> triple(-1)
-3
"""
RIGHT = "    return 3 * x\n"
HOME_FILE = Path(os.environ.get("HOME") or Path.home()) / f"reasonrm-hostile-{secrets.token_hex(6)}"

HOSTILE = {
    "infinite loop": "    while True:\n        pass\n",
    "fork bomb": "    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n",
    "memory bomb": "    blocks = []\n    while True:\n        blocks.append(bytearray(10**8))\n",
    "a gigabyte of output": "    import sys\n    for _ in range(1000):\n        sys.__stdout__.write('x' * 10**6)\n    return 3 * x\n",
    "a network connection": (
        "    import socket\n    s = socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "    return 3 * x\n"
    ),
    "writing home": f"    open({str(HOME_FILE)!r}, 'w').write('escaped')\n    return 3 * x\n",
    "reading secrets": (
        "    import os, glob\n    found = ''.join(open(p, errors='replace').read() "
        "for p in glob.glob('/proc/*/environ') if os.access(p, os.R_OK))\n"
        "    return found + os.environ.get('OPENAI_API_KEY', '')\n"
    ),
}


def test_a_file_of_hostile_pairs_is_judged_whole_and_nothing_escapes(tmp_path, monkeypatch):
    secret = f"sk-test-{secrets.token_hex(8)}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"id": name, "prompt": PROMPT, "a": body, "b": RIGHT} for name, body in HOSTILE.items()]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "judged.jsonl"
    judge = Judge(ScriptedEngine(lambda chat, params: "\\boxed{Assistant 1}"), score="vote")
    started = time.monotonic()
    judge_file(judge, pairs, out)
    elapsed = time.monotonic() - started
    judged = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(judged) == set(HOSTILE)  # every row written
    for name, row in judged.items():
        assert row["winner"] == "B" and row["decided_by"] == "code", (name, row["evidence"])
    assert not HOME_FILE.exists()
    assert secret not in out.read_text()
    # no hang: seven pairs, each program at most twice (a timeout is retried) its deadline,
    # with ample room for a busy machine; this bounds a hang, it does not time anything
    assert elapsed < 600
