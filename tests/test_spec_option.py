"""A judging option added in one place (a JudgeSpec field) reaches every command that judges,
the server, the resume check and the Python API.

The test copies the package, adds one field to JudgeSpec in specs.py (the one edit a new
option takes) and drives the copy in a subprocess: nothing else in the copy knows the field."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import reasonrm

ANCHOR = "    force_tokens: int = field("
NEW_FIELD = '    nudge: int = field(default=0, metadata=option("A test option.", minimum=0))\n'

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from typer.testing import CliRunner

    import reasonrm.cli as cli
    import reasonrm.cli.serve as cli_serve
    from fakes import ScriptedEngine, content_judge
    from reasonrm.judge import Judge
    from reasonrm.specs import JudgeSpec

    tmp = Path(sys.argv[1])
    report = {}
    runner = CliRunner()
    engines = []

    def fake_engine(spec):
        engines.append(ScriptedEngine(content_judge))
        return engines[-1]

    cli.common.open_engine = fake_engine
    for command in (["judge"], ["rank"], ["best-of-n"], ["eval", "run"], ["serve"]):
        result = runner.invoke(cli.app, [*command, "--help"], env={"COLUMNS": "200"})
        report[" ".join(command)] = "--nudge" in result.output

    pairs = tmp / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "q", "a": "good", "b": "bad", "label": "A"}) + "\\n")
    out = tmp / "out.jsonl"
    args = ["judge", "--input", str(pairs), "--output", str(out)]
    first = runner.invoke(cli.app, [*args, "--nudge", "2"])
    report["judge exit"] = first.exit_code
    report["recorded"] = json.loads(out.read_text().splitlines()[0])["settings"].get("nudge")
    other = runner.invoke(cli.app, [*args, "--nudge", "3"])
    report["resume refused"] = (other.exit_code, "nudge: 2 → 3" in other.output)

    cands = tmp / "cands.jsonl"
    cands.write_text(json.dumps({"prompt": "q", "responses": ["good", "bad"]}) + "\\n")
    ranked = tmp / "ranked.jsonl"
    runner.invoke(cli.app, ["rank", "--input", str(cands), "--output", str(ranked), "--nudge", "4"])
    report["rank recorded"] = json.loads(ranked.read_text())["settings"].get("nudge")

    bench = tmp / "rb.jsonl"
    row = {"prompt": "q", "chosen": "good", "rejected": "bad", "subset": "alpacaeval-easy", "id": 1}
    bench.write_text(json.dumps(row) + "\\n")
    run_dir = tmp / "eval"
    runner.invoke(cli.app, ["eval", "run", "rewardbench", "--data", str(bench), "--out", str(run_dir), "--nudge", "5"])
    report["eval recorded"] = json.loads((run_dir / "run.json").read_text()).get("nudge")

    served = {}
    cli_serve._run = lambda app, *a: served.update(app=app)
    runner.invoke(cli.app, ["serve", "--port", "0", "--nudge", "6"])
    report["served"] = served["app"].state.service.judge.spec.nudge

    engine = ScriptedEngine(content_judge)
    report["python"] = [Judge(engine, nudge=7).spec.nudge, Judge.from_spec(engine, JudgeSpec(nudge=8)).spec.nudge]
    try:
        JudgeSpec(nudge=-1)
    except Exception as e:
        report["checked"] = str(e)
    print(json.dumps(report))
    """
)


def test_a_new_spec_field_reaches_every_command_the_server_resume_and_python(tmp_path):
    package = Path(reasonrm.__file__).parent
    copy = tmp_path / "src" / "reasonrm"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    specs = copy / "specs.py"
    text = specs.read_text()
    assert text.count(ANCHOR) == 1
    specs.write_text(text.replace(ANCHOR, NEW_FIELD + ANCHOR))
    tests_dir = Path(__file__).parent
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(copy.parent), str(tests_dir)])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "judge": True,
        "rank": True,
        "best-of-n": True,
        "eval run": True,
        "serve": True,
        "judge exit": 0,
        "recorded": 2,
        "resume refused": [2, True],
        "rank recorded": 4,
        "eval recorded": 5,
        "served": 6,
        "python": [7, 8],
        "checked": "nudge must be at least 0, got -1",
    }
