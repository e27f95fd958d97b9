"""Knockout against round robin (ELO) on RMB's Best-of-N set: how often the best answer is
ranked first, and the judge calls and tokens each spends.

Items are drawn from RMB's BoN_set, stratified by goal (Helpfulness, Harmlessness) and by the
number of responses (best plus 2-4 losers), short enough for this CPU. Each item's responses
are shuffled with a fixed seed so the best answer's position says nothing.

Every pair is judged once (round robin); a knockout's matches are a subset of those pairs and
the judge draws a comparison's order and seeds from its content, so knockout brackets replay
the very same judgments from a cache (`--cache`, which also makes an interrupted run resume
where it stopped). That lets one run score many knockout brackets per item at no extra cost
and compare the two methods on identical verdicts. Knockout's calls and tokens are what its
own matches cost.

Usage: python benchmarks/ranking_rmb.py [--per-group 3 --sizes 3,4,5 --brackets 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from common import DATA, report, write_result

from reasonrm import Judge, load_engine
from reasonrm.engines.base import Engine
from reasonrm.eval import rmb
from reasonrm.ranking import Ranker, Ranking
from reasonrm.types import NextToken, Sample


class CachingEngine(Engine):
    """Answers a (chat, params) it has seen from a JSONL cache; asks the inner engine otherwise."""

    name = "cache"

    def __init__(self, inner: Engine, path: Path) -> None:
        self.inner, self.path = inner, path
        self.model = inner.model
        self.hits = self.misses = 0
        self.cache: dict[str, list[Sample]] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interruption
                if "next" in entry:
                    self.cache[entry["key"]] = NextToken(**entry["next"])
                else:
                    self.cache[entry["key"]] = [Sample(**s) for s in entry["samples"]]
        path.parent.mkdir(parents=True, exist_ok=True)

    def key(self, chat, params) -> str:
        content = [self.model, chat, params if isinstance(params, dict) else asdict(params)]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    async def _cached(self, chats, params, ask, entry):
        """Answers for `chats` from the cache, asking `ask(missing chats)` for the rest and
        appending each new answer as `entry(answer)` to the cache file."""
        keys = [self.key(c, params) for c in chats]
        missing = [i for i, k in enumerate(keys) if k not in self.cache]
        self.hits += len(chats) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = await ask([chats[i] for i in missing])
            with self.path.open("a") as f:
                for i, answer in zip(missing, fresh, strict=True):
                    self.cache[keys[i]] = answer
                    f.write(json.dumps({"key": keys[i], **entry(answer)}) + "\n")
        return [self.cache[k] for k in keys]

    async def agenerate(self, chats, params):
        return await self._cached(
            chats,
            params,
            lambda missing: self.inner.agenerate(missing, params),
            lambda samples: {"samples": [asdict(s) for s in samples]},
        )

    async def anext_tokens(self, chats, top=20):
        return await self._cached(
            chats,
            {"next_tokens": top},
            lambda missing: self.inner.anext_tokens(missing, top),
            lambda read: {"next": asdict(read)},
        )

    def tokenize(self, text):
        return self.inner.tokenize(text)

    @property
    def supports_grammar(self) -> bool:
        return self.inner.supports_grammar

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    def close(self) -> None:
        self.inner.close()


def pick_items(per_group: int, sizes: list[int], max_chars: int, seed: int) -> list[dict]:
    """`per_group` items for each (goal, number of responses), with shuffled responses."""
    groups = defaultdict(list)
    for item in rmb.load(str(DATA / "rmb" / "original")):
        if not item.subset.startswith("BoN"):
            continue
        first = item.comparisons[0]
        responses = [first.a, *(c.b for c in item.comparisons)]
        prompt = first.prompt
        chars = sum(len(m["content"]) for m in prompt) + sum(len(r) for r in responses)
        if len(responses) in sizes and chars <= max_chars:
            groups[(item.subset, len(responses))].append((item.key, prompt, responses))
    rng = random.Random(seed)
    picked = []
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda m: m[0])
        for key, prompt, responses in rng.sample(members, min(per_group, len(members))):
            order = list(range(len(responses)))
            rng.shuffle(order)
            shuffled = [responses[i] for i in order]
            goal = group[0].split()[1]
            best = order.index(0)
            picked.append(
                dict(
                    id=key,
                    goal=goal,
                    n=len(responses),
                    prompt=prompt,
                    responses=shuffled,
                    best=best,
                )
            )
    return picked


def interval(values: list[float], seed: int = 0, resamples: int = 2000) -> str:
    """95% percentile bootstrap interval of a mean, resampling items."""
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(resamples))
    return f"[{means[int(0.025 * resamples)]:.3f}, {means[int(0.975 * resamples) - 1]:.3f}]"


def first_is_best(order: list[int], item: dict) -> float:
    return float(order[0] == item["best"])


def beats_every_loser(item: dict, ranking: Ranking) -> float:
    """RMB's own Best-of-N rule on the round robin's verdicts (a tie is a loss)."""
    return float(
        all(m.winner == item["best"] for m in ranking.matches if item["best"] in (m.a, m.b))
    )


def per_item(item: dict, round_robin: Ranking, brackets: list[Ranking]) -> dict:
    """What each method did on one item; knockout figures are means over its brackets."""
    ratings = round_robin.ratings["elo"]
    sequential = sorted(range(item["n"]), key=lambda i: (-ratings[i], i))
    return {
        "n": item["n"],
        "bt": first_is_best(round_robin.ranking, item),
        "elo": first_is_best(sequential, item),
        "knockout": statistics.fmean(first_is_best(k.ranking, item) for k in brackets),
        "random": 1 / item["n"],
        "rr cost": (
            round_robin.judge_calls,
            round_robin.completion_tokens,
            round_robin.prompt_tokens,
        ),
        "ko cost": tuple(
            statistics.fmean(getattr(k, f) for k in brackets)
            for f in ("judge_calls", "completion_tokens", "prompt_tokens")
        ),
        "beats all": beats_every_loser(item, round_robin),
    }


def summary(name: str, rows: list[dict], hit: str, cost: str | None) -> dict:
    hits = [r[hit] for r in rows]
    costs = [r[cost] if cost else (0, 0, 0) for r in rows]
    return {
        "method": name,
        "best ranked first": statistics.fmean(hits),
        "95% CI": interval(hits),
        "judge calls/item": statistics.fmean(c[0] for c in costs),
        "completion tokens/item": statistics.fmean(c[1] for c in costs),
        "prompt tokens/item": statistics.fmean(c[2] for c in costs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-group", type=int, default=3, help="items per (goal, size)")
    ap.add_argument("--sizes", default="3,4,5", help="numbers of responses per item")
    ap.add_argument("--max-chars", type=int, default=3000, help="prompt plus responses")
    ap.add_argument("--brackets", type=int, default=20, help="knockout seeds per item")
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--protocol", default="rrm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score", default="vote", choices=["vote", "prob"])
    ap.add_argument("--orders", default="auto", help="auto: one random order per match")
    ap.add_argument("--cache", type=Path, default=Path("runs/ranking_rmb_cache.jsonl"))
    args = ap.parse_args()
    name = "ranking_rmb" if args.score == "vote" else f"ranking_rmb_{args.score}_{args.protocol}"

    sizes = [int(s) for s in args.sizes.split(",")]
    items = pick_items(args.per_group, sizes, args.max_chars, args.seed)
    engine = CachingEngine(load_engine("llamacpp", args.model), args.cache)
    judge = Judge(engine, args.protocol, seed=args.seed, score=args.score, orders=args.orders)
    candidates = [(it["prompt"], it["responses"]) for it in items]
    pairs = sum(it["n"] * (it["n"] - 1) // 2 for it in items)
    print(f"{len(items)} items, {pairs} pairs; judging the round robin ...", flush=True)

    start = time.monotonic()
    round_robin = list(Ranker(judge, "elo", rating="bt", seed=args.seed).rank_many(candidates))
    minutes = (time.monotonic() - start) / 60
    judged = engine.misses
    brackets = [
        list(Ranker(judge, "knockout", seed=b).rank_many(candidates)) for b in range(args.brackets)
    ]
    assert engine.misses == judged, "a knockout asked for a judgment the round robin lacked"
    engine.close()

    rows = [
        per_item(it, rr, [b[i] for b in brackets])
        for i, (it, rr) in enumerate(zip(items, round_robin, strict=True))
    ]
    table = [
        summary("round robin, Bradley-Terry", rows, "bt", "rr cost"),
        summary("round robin, sequential Elo", rows, "elo", "rr cost"),
        summary(f"knockout ({args.brackets} brackets)", rows, "knockout", "ko cost"),
        summary("random pick", rows, "random", None),
    ]
    by_size = [
        {
            "responses": n,
            "items": len(group),
            "Bradley-Terry": statistics.fmean(r["bt"] for r in group),
            "knockout": statistics.fmean(r["knockout"] for r in group),
            "random": 1 / n,
            "round robin calls": n * (n - 1) // 2,
            "knockout calls": n - 1,
        }
        for n in sizes
        if (group := [r for r in rows if r["n"] == n])
    ]
    rmb_bon = statistics.fmean(r["beats all"] for r in rows)
    report(f"RMB Best-of-N: {len(items)} items, {args.model}, {args.protocol}, {args.score}", table)
    report("By number of responses (best ranked first)", by_size)
    print(
        f"RMB's Best-of-N accuracy on these items (best beats every loser): {rmb_bon:.3f}. "
        f"Round robin: {judged} generations in {minutes:.1f} min; knockouts replayed them "
        f"from the cache ({engine.hits} hits)."
    )
    result = {
        "model": args.model,
        "protocol": args.protocol,
        "score": args.score,
        "orders": args.orders,
        "items": len(items),
        "brackets": args.brackets,
        "methods": table,
        "by_size": by_size,
        "rmb_bon_accuracy": rmb_bon,
        "round_robin_minutes": round(minutes, 1),
    }
    print(json.dumps({"benchmark": name, **result}))
    write_result(name, result)


if __name__ == "__main__":
    main()
