"""benchmarks/common.py: the Prometheus text parser serve_load reads the server's counts with,
and the result file every benchmark script writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import common  # noqa: E402

from reasonrm.server.metrics import Metrics  # noqa: E402

TEXT = """\
# HELP reasonrm_requests_total HTTP requests
# TYPE reasonrm_requests_total counter
reasonrm_requests_total{endpoint="/v1/judge",status="200"} 9.0
reasonrm_requests_total{endpoint="/v1/judge",status="499"} 4.0
reasonrm_requests_total{endpoint="/health",status="200"} 2.0
reasonrm_requests_created{endpoint="/v1/judge",status="200"} 1.7e+09
# TYPE reasonrm_failed_jobs_total counter
reasonrm_failed_jobs_total 2.0
"""


def test_prometheus_value_sums_matching_labels():
    value = common.prometheus_value
    assert value(TEXT, "reasonrm_requests_total", endpoint="/v1/judge", status="499") == 4.0
    assert value(TEXT, "reasonrm_requests_total", endpoint="/v1/judge") == 13.0
    assert value(TEXT, "reasonrm_requests_total") == 15.0
    assert value(TEXT, "reasonrm_failed_jobs_total") == 2.0
    # absent: a label value never seen, a metric never exported, or a name's prefix only
    assert value(TEXT, "reasonrm_requests_total", status="504") == 0.0
    assert value(TEXT, "reasonrm_cancelled_total") == 0.0
    assert value(TEXT, "reasonrm_requests") == 0.0


def test_prometheus_value_reads_the_servers_own_metrics():
    """The names serve_load reads are the ones the server exports."""
    metrics = Metrics(queue_depth=lambda: 0, jobs_running=lambda: 0)
    metrics.requests.labels("/v1/judge", "499").inc(3)
    metrics.failed_jobs.inc(2)
    text = metrics.render().decode()
    assert (
        common.prometheus_value(text, "reasonrm_requests_total", endpoint="/v1/judge", status="499")
        == 3.0
    )
    assert common.prometheus_value(text, "reasonrm_failed_jobs_total") == 2.0


def test_write_result(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(common, "ROOT", tmp_path.parent)
    path = common.write_result("demo", {"ms": 1.5}, command=["benchmarks/demo.py", "--n", "2"])
    result = json.loads(path.read_text())
    assert path == tmp_path / "demo.json"
    assert result["command"] == "python benchmarks/demo.py --n 2"
    assert result["figures"] == {"ms": 1.5}
    assert result["machine"]["cpu_count"] >= 1 and result["date"]


def test_this_command_is_the_running_script_as_typed_from_the_repository_root(monkeypatch):
    script = common.ROOT / "benchmarks" / "train_judge.py"
    monkeypatch.setattr(common.sys, "argv", [str(script), "--stages", "direct-sft", "--x", "a b"])
    assert common.this_command() == "python benchmarks/train_judge.py --stages direct-sft --x 'a b'"


def test_an_interrupted_measurement_ends_with_one_line_naming_what_is_kept(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped, common.resumable(tmp_path / "rows"):
        raise KeyboardInterrupt
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "rows") in err and "resume" in err
    # anything else is not swallowed
    with pytest.raises(ValueError), common.resumable(tmp_path):
        raise ValueError("a real error")
