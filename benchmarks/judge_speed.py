"""Judging speed with the default model on this machine, in one run:

  overhead   reasonrm's Judge vs calling the engine directly on the same prompts
  batching   16 comparisons judged together vs one after another, and the engine's own
             ceiling (the same 16 prompts sent to the engine together, without reasonrm)
  adaptive   adaptive vs full voting at k=5 on 20 real pairs: identical verdicts on the same
             samples (replayed), and the tokens a live adaptive run spends

Usage: python benchmarks/judge_speed.py [overhead|batching|adaptive ...] [--model NAME]
Prompt caching is off, so every request pays its own prefill and order does not matter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict

from common import report, rewardbench_pairs, write_result

from reasonrm import Comparison, Judge, SamplingParams
from reasonrm.engines.base import Engine, run_sync
from reasonrm.engines.llamacpp import LlamaCppEngine
from reasonrm.judge import majority


def _generate_concurrently(engine: Engine, chats, params: SamplingParams) -> list:
    async def go():
        return await asyncio.gather(*(engine.agenerate([c], params) for c in chats))

    return run_sync(go())


def overhead(engine: LlamaCppEngine, pairs: list[Comparison], max_tokens: int) -> dict:
    """Same prompts, same greedy params, one at a time; interleaved to share the noise."""
    judge = Judge(
        engine,
        "rrm",
        score="vote",
        orders="fixed",
        max_tokens=max_tokens,
        force_verdict=False,
        concurrency=1,
    )
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0)
    direct_s = judge_s = direct_tok = judge_tok = 0.0
    for c in pairs:
        chat = judge.protocol.render(c if judge.orders_for(c) == ["AB"] else c.swapped())
        seed = judge.sample_seed(c, judge.orders_for(c)[0], 0)
        start = time.perf_counter()
        ((s,),) = engine.generate([chat], SamplingParams(**{**params.__dict__, "seed": seed}))
        direct_s += time.perf_counter() - start
        direct_tok += s.completion_tokens
        start = time.perf_counter()
        j = judge.judge(c)
        judge_s += time.perf_counter() - start
        judge_tok += j.completion_tokens
    rows = [
        {
            "path": "engine directly",
            "seconds": direct_s,
            "tokens": int(direct_tok),
            "tok/s": direct_tok / direct_s,
        },
        {
            "path": "reasonrm Judge",
            "seconds": judge_s,
            "tokens": int(judge_tok),
            "tok/s": judge_tok / judge_s,
        },
    ]
    slower = (judge_tok and (judge_s / judge_tok) / (direct_s / direct_tok) - 1) or 0.0
    report(f"Orchestration overhead, {len(pairs)} pairs, {max_tokens} max tokens", rows)
    return {
        "overhead_pairs": len(pairs),
        "direct_seconds": round(direct_s, 2),
        "judge_seconds": round(judge_s, 2),
        "direct_tokens": int(direct_tok),
        "judge_tokens": int(judge_tok),
        "overhead_per_token": round(slower, 4),
    }


def batching(engine: LlamaCppEngine, pairs: list[Comparison], max_tokens: int) -> dict:
    """Four runs over the same prompts: the engine alone and reasonrm, each one at a time
    and all together. The engine's own together/alone ratio is this machine's ceiling."""
    judge = Judge(engine, "rrm", score="vote", orders="fixed")
    chats = [
        judge.protocol.render(c if judge.orders_for(c) == ["AB"] else c.swapped()) for c in pairs
    ]
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0)

    def engine_run(together: bool) -> tuple[float, int]:
        start = time.perf_counter()
        if together:
            out = _generate_concurrently(engine, chats, params)
        else:
            out = [engine.generate([c], params) for c in chats]
        return time.perf_counter() - start, sum(s.completion_tokens for (ss,) in out for s in ss)

    def judge_run(together: bool) -> tuple[float, int]:
        judge = Judge(
            engine,
            "rrm",
            score="vote",  # generation is what is timed
            orders="fixed",
            max_tokens=max_tokens,
            force_verdict=False,
            concurrency=len(pairs) if together else 1,
        )
        start = time.perf_counter()
        tokens = sum(j.completion_tokens for j in judge.judge_many(pairs))
        return time.perf_counter() - start, tokens

    n = len(pairs)
    runs = {  # alternate paths so that drift on a shared machine hits both
        "engine alone, one after another": engine_run(False),
        "reasonrm, one after another": judge_run(False),
        f"engine alone, {n} together": engine_run(True),
        f"reasonrm, {n} together": judge_run(True),
    }
    rows = [
        {"run": name, "seconds": s, "tokens": t, "pairs/min": 60 * n / s, "tok/s": t / s}
        for name, (s, t) in runs.items()
    ]
    report(f"Batching, {n} comparisons, {max_tokens} max tokens, {engine.parallel} slots", rows)
    # ratios of tokens per second: a run's token count can differ from another's
    engine_alone, judge_alone, engine_together, judge_together = (t / s for s, t in runs.values())
    return {
        "batch_pairs": n,
        "speedup_tok_s": round(judge_together / judge_alone, 3),
        "ceiling_speedup_tok_s": round(engine_together / engine_alone, 3),
        "ratio_to_ceiling": round(
            (judge_together / judge_alone) / (engine_together / engine_alone), 3
        ),
        "seconds": {k: round(s, 1) for k, (s, _) in runs.items()},
        "tokens": {k: t for k, (_, t) in runs.items()},
    }


class RecordingEngine(Engine):
    """Passes requests through and keeps every sample per chat, in order."""

    def __init__(self, inner: Engine) -> None:
        self.inner, self.record = inner, defaultdict(list)

    @property
    def supports_grammar(self) -> bool:
        return self.inner.supports_grammar

    async def agenerate(self, chats, params):
        out = await self.inner.agenerate(chats, params)
        for chat, samples in zip(chats, out, strict=True):
            self.record[json.dumps(chat)].extend(samples)
        return out


class ReplayEngine(Engine):
    """Serves the recorded samples of each chat in the order they were drawn."""

    def __init__(self, record: dict, supports_grammar: bool) -> None:
        self.queues = {k: list(v) for k, v in record.items()}
        self._grammar = supports_grammar

    @property
    def supports_grammar(self) -> bool:
        return self._grammar

    async def agenerate(self, chats, params):
        out = []
        for chat in chats:
            queue = self.queues[json.dumps(chat)]
            out.append(queue[: params.n])
            del queue[: params.n]
        return out


def adaptive(engine: LlamaCppEngine, pairs: list[Comparison], max_tokens: int, k: int = 5) -> dict:
    def run(eng: Engine, is_adaptive: bool):
        judge = Judge(
            eng,
            "rrm",
            votes=k,
            orders="fixed",
            adaptive=is_adaptive,
            max_tokens=max_tokens,
            concurrency=len(pairs),
        )
        start = time.perf_counter()
        judgments = list(judge.judge_many(pairs))
        return judgments, time.perf_counter() - start

    recorder = RecordingEngine(engine)
    full, full_s = run(recorder, False)
    replayed, _ = run(ReplayEngine(recorder.record, engine.supports_grammar), True)
    live, live_s = run(engine, True)
    full_tok = sum(j.completion_tokens for j in full)
    replay_tok = sum(j.completion_tokens for j in replayed)
    live_tok = sum(j.completion_tokens for j in live)
    same = sum(f.winner == r.winner for f, r in zip(full, replayed, strict=True))
    # The rule's guarantee, checked directly: the full majority over the same samples.
    rule_ok = all(
        r.winner == majority(f.votes["A"], f.votes["B"])
        for f, r in zip(full, replayed, strict=True)
    )
    rows = [
        {
            "run": f"full k={k}",
            "samples": sum(len(j.samples) for j in full),
            "tokens": full_tok,
            "seconds": full_s,
            "accuracy": sum(j.correct for j in full) / len(full),
        },
        {
            "run": "adaptive, replaying the full run's samples",
            "samples": sum(len(j.samples) for j in replayed),
            "tokens": replay_tok,
            "seconds": None,  # replayed: no generation to time
            "accuracy": sum(j.correct for j in replayed) / len(full),
        },
        {
            "run": "adaptive, live",
            "samples": sum(len(j.samples) for j in live),
            "tokens": live_tok,
            "seconds": live_s,
            "accuracy": sum(j.correct for j in live) / len(live),
        },
    ]
    report(f"Adaptive vs full voting, k={k}, {len(pairs)} pairs, {max_tokens} max tokens", rows)
    return {
        "adaptive_pairs": len(pairs),
        "identical_verdicts_on_same_samples": f"{same}/{len(pairs)}",
        "rule_holds": rule_ok,
        "token_saving_same_samples": round(1 - replay_tok / full_tok, 3),
        "token_saving_live": round(1 - live_tok / full_tok, 3),
        "live_vs_full_verdict_agreement": f"{sum(f.winner == v.winner for f, v in zip(full, live, strict=True))}/{len(pairs)}",
        "full_seconds": round(full_s, 1),
        "live_adaptive_seconds": round(live_s, 1),
        "adaptive_runs": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("parts", nargs="*", default=["overhead", "batching", "adaptive"])
    parser.add_argument("--model", default="qwen2.5-1.5b")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    result = {"model": args.model, "max_tokens": args.max_tokens, "parallel": args.parallel}
    if {"overhead", "batching"} & set(args.parts):
        # No prompt cache: every request pays its own prefill, whichever path runs first.
        with LlamaCppEngine(args.model, parallel=args.parallel, cache_prompt=False) as engine:
            if "overhead" in args.parts:
                result |= overhead(engine, rewardbench_pairs(8, seed=1), args.max_tokens)
            if "batching" in args.parts:
                result |= batching(engine, rewardbench_pairs(16, seed=2), args.max_tokens)
    if "adaptive" in args.parts:
        # As users run it: rounds and forced verdicts reuse the prompt already processed.
        with LlamaCppEngine(args.model, parallel=args.parallel) as engine:
            result |= adaptive(engine, rewardbench_pairs(20, seed=3), args.max_tokens)
    print(json.dumps({"benchmark": "judge_speed", **result}))
    write_result("judge_speed_" + "_".join(args.parts), result)  # one file per set of parts run


if __name__ == "__main__":
    main()
