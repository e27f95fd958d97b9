"""The benchmark registry: it lists every benchmark module in the package, and a new benchmark
needs nothing but a Benchmark subclass to run, score and report."""

import importlib
import inspect
import json
import pkgutil

import pytest
from fakes import ScriptedEngine, content_judge

import reasonrm.eval
from reasonrm import Judge
from reasonrm.errors import InputError, UnknownBenchmarkError
from reasonrm.eval import BENCHMARKS, Benchmark, get_benchmark, report
from reasonrm.eval.data import read_rows, require
from reasonrm.eval.results import score_file
from reasonrm.eval.runner import EvalItem, item_row, run
from reasonrm.registry import Registry
from reasonrm.types import Comparison


def modules_defining_a_benchmark() -> set[str]:
    """Every module of reasonrm.eval that defines a concrete Benchmark subclass."""
    found = set()
    for info in pkgutil.iter_modules(reasonrm.eval.__path__, "reasonrm.eval."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            defined_here = cls.__module__ == module.__name__
            if defined_here and issubclass(cls, Benchmark) and not inspect.isabstract(cls):
                found.add(module.__name__)
    return found


def test_registry_lists_exactly_the_benchmark_modules():
    registered = {name: get_benchmark(name) for name in BENCHMARKS}
    assert {type(b).__module__ for b in registered.values()} == modules_defining_a_benchmark()
    for name, benchmark in registered.items():
        assert benchmark.name == name
        assert benchmark.default_orders in ("random", "both")
        assert benchmark.default_invalid in (None, *benchmark.invalid_rules)
        # a benchmark without invalid rules says why --invalid does not apply
        assert benchmark.invalid_rules or benchmark.invalid_note


def test_unknown_benchmark_is_a_user_error_naming_the_choices():
    with pytest.raises(UnknownBenchmarkError) as caught:
        get_benchmark("superbench")
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == (
        "unknown benchmark 'superbench'; choose one of: " + ", ".join(BENCHMARKS)
    )


class PairBench(Benchmark):
    """A minimal benchmark: one pair per row, accuracy per subset and overall."""

    name = "pairs"
    correct_values = (0, 1)
    invalid_note = "an invalid verdict scores 0"

    def load(self, source):
        for where, row in read_rows(source):
            row_id, subset, good, bad = require(row, where, "id", "subset", "good", "bad")
            comparison = Comparison("Which is better?", good, bad, label="A")
            yield EvalItem(f"{subset}/{row_id}", subset, (comparison,), {"id": row_id}, where)

    def make_row(self, item, judgments):
        (judgment,) = judgments
        return item_row(item, judgments, correct=int(judgment.winner == judgment.label))

    def row_score(self, row, invalid):
        return float(row["correct"])

    def score_rows(self, rows, invalid):
        by_subset: dict[str, list[float]] = {}
        for row in rows:
            by_subset.setdefault(row["subset"], []).append(self.row_score(row, invalid))
        sections = {s: sum(v) / len(v) for s, v in by_subset.items()}
        return {"sections": sections, "overall": sum(map(sum, by_subset.values())) / len(rows)}


def test_a_new_benchmark_runs_scores_and_reports_through_a_fresh_registry(tmp_path):
    registry: Registry[Benchmark] = Registry("benchmark", UnknownBenchmarkError)
    registry.add("pairs", PairBench())
    benchmark = registry.get("pairs")
    data = tmp_path / "pairs.jsonl"
    rows = [
        {"id": "1", "subset": "easy", "good": "good answer", "bad": "bad answer"},
        {"id": "2", "subset": "easy", "good": "good too", "bad": "poor"},
        # the content judge picks the slot holding "good": here the worse response
        {"id": "1", "subset": "hard", "good": "fine", "bad": "good-looking nonsense"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge = Judge(ScriptedEngine(content_judge), "rrm", orders=benchmark.default_orders)

    results = run(benchmark.load(str(data)), judge, tmp_path / "run", benchmark.make_row)

    written = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["key"], r["correct"]) for r in written] == [
        ("easy/1", 1),
        ("easy/2", 1),
        ("hard/1", 0),
    ]
    scores = score_file(benchmark, results)
    assert scores == {"sections": {"easy": 1.0, "hard": 0.0}, "overall": 2 / 3, "items": 3}
    with pytest.raises(InputError, match="does not apply to this benchmark: an invalid verdict"):
        score_file(benchmark, results, "zero")
    built = report.build(tmp_path / "run", benchmark, {}, resamples=100)
    assert built.benchmark == "pairs" and built.headline["overall"].value == pytest.approx(2 / 3)
    assert built.subsets["hard"].value == 0.0
