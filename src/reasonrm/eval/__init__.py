"""Evaluation on reward-model benchmarks: one module per benchmark (loader and official
scoring), named after the `reasonrm eval` command. `get_benchmark("rewardbench")`; a new
benchmark is one module in this package (see base.py) and one line here."""

from reasonrm.errors import UnknownBenchmarkError
from reasonrm.eval.base import Benchmark
from reasonrm.registry import Registry

# lazy entries: a benchmark's module is imported when it is first asked for
BENCHMARKS: Registry[Benchmark] = Registry("benchmark", UnknownBenchmarkError)
BENCHMARKS.add("rewardbench", "reasonrm.eval.rewardbench:BENCHMARK")
BENCHMARKS.add("rewardbench-2", "reasonrm.eval.rewardbench2:BENCHMARK")
BENCHMARKS.add("rm-bench", "reasonrm.eval.rmbench:BENCHMARK")
BENCHMARKS.add("rmb", "reasonrm.eval.rmb:BENCHMARK")
BENCHMARKS.add("pandalm", "reasonrm.eval.pandalm:BENCHMARK")
BENCHMARKS.add("judgebench", "reasonrm.eval.judgebench:BENCHMARK")


def get_benchmark(name: str) -> Benchmark:
    """The benchmark registered under `name`; an unknown name lists the ones there are."""
    return BENCHMARKS.get(name)


__all__ = ["BENCHMARKS", "Benchmark", "get_benchmark"]
