"""Does a trained 135M student judge better than its prompted 1.5B teacher? (issue 15)

Held-out sets: 200 pairs each of HH-RLHF harmless (split off the test file) and
UltraFeedback (its eval file), never trained on, each pair in both orders. Training rows:
the other pairs of both sets, in both orders, every batch holding both orders of its pairs.

Stages, each resumable (rerun the same command: prepared data, judgments and evaluations
are kept; a trainer resumes from its latest checkpoint, and a finished stage asked for more
steps, say --grpo-steps 40 after 6, trains on from its last checkpoint):

  teacher-prob   the prompted 1.5B, probability of the verdict after the rrm prompt
  teacher-vote   the prompted 1.5B, one sampled rrm verdict in one random order (the papers'
                 prompted baseline), on --teacher-vote-pairs pairs per set: reasoning is slow
  untrained      SmolLM2-135M-Instruct before training
  direct-sft     label-only SFT on the `direct` prompt (a DirectJudge: the bare verdict),
                 the loss on the verdict's label (`target: label`)
  direct-sft-verdict  the same with the loss on the whole verdict (`target: verdict`), where
                 the label is 1 of 11 tokens: not in the default run, kept to compare
  direct-grpo    GRPO from direct-sft with the both-order consistency reward
  distill-sft    SFT on the teacher's reasoning (`rrm`), kept only where its verdict is right
                 (`train distill`, a hinted second pass for rows with none), for
                 --distill-pairs training pairs per set, both orders
  distill-grpo   GRPO from distill-sft with the both-order consistency reward, reasoning
                 rollouts of up to --reasoning-tokens

Every student is evaluated by `vote` (its greedy verdict; for a `target: label` student the
reply starts with the verdict's opening, which its training put in the prompt) and `prob`
(the verdict label's probability, both orders combined per pair). A reasoning student's vote
(distill-*) reads the --teacher-vote-pairs pairs the teacher's vote read, in both orders:
generation is slow on the CPU, so llama.cpp reads it from the student's GGUF export
(--reasoning-engine). During SFT every --eval-every steps a checkpoint is evaluated by
`prob` on the held-out pairs, which gives the learning curve.

Usage:
  python benchmarks/train_judge.py                       # everything (hours on 2 cores)
  python benchmarks/train_judge.py --stages teacher-prob,untrained,direct-sft
  python benchmarks/train_judge.py --smoke               # 8 pairs, 2 steps a stage: minutes
  python benchmarks/train_judge.py --sets uf --work runs/train_judge-uf --stages direct-sft
                                   # a student of one set alone, into train_judge_uf.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

import yaml
from common import (
    DATA,
    TRAIN_ROWS,
    previous_figures,
    report,
    resumable,
    this_command,
    write_result,
)

from reasonrm import Judge, load_engine
from reasonrm.models import sha256_file
from reasonrm.protocols import get_protocol
from reasonrm.runs import judge_file
from reasonrm.scoring import logit
from reasonrm.training.config import SAVED_CONFIG, load_settings
from reasonrm.training.data import estimate_tokens, prepare_file, read_labelled
from reasonrm.training.distill import DistillConfig, distill
from reasonrm.training.evaluate import evaluate, probabilities, summarize
from reasonrm.training.gguf_export import export_gguf
from reasonrm.training.grpo import run_grpo
from reasonrm.training.sft import run_sft
from reasonrm.types import Comparison

SETS = {
    "hh": {"train": "train-hh-rlhf-harmless-test/original/harmless-base_test.jsonl.gz"},
    "uf": {
        "train": "train-ultrafeedback-binarized-sample/original/train_clean.jsonl",
        "heldout": "train-ultrafeedback-binarized-sample/original/eval_clean.jsonl",
    },
}
STAGES = [
    "teacher-prob",
    "teacher-vote",
    "untrained",
    "direct-sft-verdict",
    "direct-sft",
    "direct-grpo",
    "distill-sft",
    "distill-grpo",
]
DEFAULT_STAGES = [s for s in STAGES if s != "direct-sft-verdict"]
STUDENT = "smollm2-135m"
TRAIN_RESULT = "train_result.json"  # in a stage's folder once its final model is saved


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def first_pairs(rows: list[dict], count: int, seed: int) -> list[dict]:
    """The rows of `count` pairs drawn with `seed` (both orders of each), in file order."""
    pairs = sorted({r["pair"] for r in rows})
    random.Random(seed).shuffle(pairs)
    keep = set(pairs[:count])
    return [r for r in rows if r["pair"] in keep]


def rerender(rows: list[dict], protocol: str) -> list[dict]:
    """The same pairs and orders under another protocol's judge prompt."""
    proto = get_protocol(protocol)
    return [
        r | {"messages": proto.render(Comparison(prompt=r["prompt"], a=r["a"], b=r["b"]))}
        for r in rows
    ]


def training_rows(args, work: Path, name: str) -> list[dict]:
    """A set's training rows (rrm prompt, both orders): --train-pairs of its prepared pairs."""
    return first_pairs(jsonl(work / "data" / name / "rrm" / "train.jsonl"), args.train_pairs, 0)


def training_limit(work: Path, name: str) -> int:
    """The prompt length `prepare` kept training rows to (its stats.json)."""
    return json.loads((work / "data" / name / "rrm" / "stats.json").read_text())["max_tokens"]


def prepare(args, work: Path) -> dict[str, dict[str, Path]]:
    """Per set: heldout rows (rrm and direct prompts); and the training folders of both
    sets together, one per protocol. Written once; a rerun reads them."""
    folders: dict[str, dict[str, Path]] = {}
    train: dict[str, list[dict]] = {"rrm": [], "direct": []}
    for name in args.sets:
        out = work / "data" / name
        if not (out / "heldout-direct.jsonl").exists():
            source = SETS[name]
            held = 0 if "heldout" in source else args.heldout
            common = dict(max_tokens=args.max_tokens, seed=0, orders="both")
            prepare_file(
                DATA / source["train"], out / "rrm", protocol="rrm", heldout=held, **common
            )
            heldout = jsonl(out / "rrm" / "heldout.jsonl")
            if "heldout" in source:  # long pairs stay: the limit is for training's memory
                held_common = common | {"max_tokens": args.heldout_max_tokens}
                prepare_file(DATA / source["heldout"], out / "eval", protocol="rrm", **held_common)
                heldout = jsonl(out / "eval" / "train.jsonl")
            heldout = first_pairs(heldout, args.heldout, seed=0)
            write_jsonl(out / "heldout-rrm.jsonl", heldout)
            write_jsonl(out / "heldout-direct.jsonl", rerender(heldout, "direct"))
        rows = training_rows(args, work, name)
        train["rrm"] += rows
        train["direct"] += rerender(rows, "direct")
        folders[name] = {p: out / f"heldout-{p}.jsonl" for p in ("rrm", "direct")}
    for protocol, rows in train.items():
        folder = work / "data" / f"train-{protocol}"
        write_jsonl(folder / "train.jsonl", rows)
        (folder / "stats.json").write_text(json.dumps({"protocol": protocol}))
    return folders


def one_order(rows: list[dict], pairs: int) -> list[dict]:
    """One row per pair, its order drawn with a fixed seed, for `pairs` pairs: the papers'
    prompted setting (one random order), affordable for a reasoning judge on the CPU."""
    rng = random.Random(0)
    by_pair: dict[str, list[dict]] = {}
    for row in rows:
        by_pair.setdefault(row["pair"], []).append(row)
    return [rng.choice(orders) for orders in list(by_pair.values())[:pairs]]


def teacher(args, work: Path, heldout: dict, score: str, on_set=None) -> dict[str, dict]:
    """The prompted 1.5B on each held-out set, rrm prompt, one reading per row (the rows
    hold both orders), as evaluation rows, summarized like a student's. `on_set(figures)`
    is called as each set finishes, with the sets finished so far."""
    figures = {}
    engine = load_engine("llamacpp", args.teacher, parallel=4, context=args.context)
    with engine:
        judge = Judge(engine, protocol="rrm", score=score, orders="fixed", votes=1, seed=0)
        for name, files in heldout.items():
            out = work / "teacher" / f"{name}-{score}.jsonl"
            source = files["rrm"]
            if score == "vote":  # reasoning: ~14 s a row here, a subset in one order
                source = work / "teacher" / f"{name}-vote-input.jsonl"
                write_jsonl(source, one_order(jsonl(files["rrm"]), args.teacher_vote_pairs))
            started = time.perf_counter()
            run = judge_file(judge, source, out)
            rows = evaluation_rows(jsonl(source), jsonl(out))
            # a resumed run's time covers only its own rows: unknown
            wall = None if run.resumed else round(time.perf_counter() - started, 1)
            figures[name] = summarize(rows) | {"wall_seconds": wall}
            if score == "prob":
                figures[name]["by_length"] = length_split(rows, work, name, files["rrm"])
            if on_set:
                on_set(figures)
    return {"final": figures}


def within_training_limit(heldout_rrm: Path, limit: int) -> dict[str, bool]:
    """Per held-out pair: would training's length limit have kept it (the same estimate on
    the same rrm prompt as `prepare`)?"""
    return {r["pair"]: estimate_tokens(r["messages"]) <= limit for r in jsonl(heldout_rrm)}


def by_length(judged: list[dict], within: dict[str, bool]) -> dict[str, dict]:
    """Pair accuracy (prob) on the held-out pairs as long as those trained on, and on the
    longer ones, which training dropped."""
    split = {}
    for name, kept in (("within_training_limit", True), ("over_training_limit", False)):
        probs = probabilities([r for r in judged if within.get(r["pair"]) is kept]) or {}
        split[name] = {"pairs": probs.get("pairs", 0), "pair_accuracy": probs.get("pair_accuracy")}
    return split


def length_split(judged: list[dict], work: Path, name: str, heldout_rrm: Path) -> dict:
    """`by_length` for one set's judged held-out rows, at the limit its training rows met."""
    return by_length(judged, within_training_limit(heldout_rrm, training_limit(work, name)))


def evaluation_rows(inputs: list[dict], judged: list[dict]) -> list[dict]:
    """Judge output rows (by input line) in `train evaluate`'s shape."""
    out = []
    for row in judged:
        source = inputs[row["line"] - 1]
        (sample,) = row.get("samples") or [None]
        verdict = row.get("winner")
        result = {
            "id": source["id"],
            "pair": source["pair"],
            "label": source["label"],
            "verdict": verdict,
            "correct": None if row.get("error") else verdict == source["label"],
            "error": row.get("error"),
            "invalid_reason": sample.get("invalid_reason") if sample else None,
            "finish_reason": sample.get("finish_reason") if sample else None,
            "completion_tokens": row.get("completion_tokens", 0),
            "prompt_tokens": row.get("prompt_tokens", 0),
            "seconds": row.get("seconds", 0.0),
        }
        if sample and sample.get("p_first") is not None:
            result["first_logodds"] = logit(sample["p_first"])
        out.append(result)
    return out


def teachers_pairs(rows: list, heldout_rrm: Path, pairs: int) -> list:
    """Both orders of the pairs the teacher's vote read (one order each): a reasoning
    student's vote is compared with the teacher's on the same pairs."""
    picked = {r["pair"] for r in one_order(jsonl(heldout_rrm), pairs)}
    return [r for r in rows if r.pair in picked]


def protocol_of(stage: str) -> str:
    """The judge prompt a stage's student was trained on: reasoning, or the bare verdict."""
    return "rrm" if stage.startswith("distill") else "direct"


def evaluate_student(
    args,
    checkpoint: str,
    heldout: dict,
    tag: str,
    work: Path,
    scores,
    prefill: bool = False,
    protocol: str = "direct",
) -> dict:
    """`prefill`: the vote starts from the verdict's opening, as a `target: label` student
    was trained (its loss never covered the opening, which sat in its prompt). An `rrm`
    student reasons before its vote, on the pairs the teacher's vote read."""
    figures: dict[str, Any] = {}
    # float32: in bfloat16 a small student's two labels are often exactly tied in greedy
    # decoding (the logits are rounded to steps of 0.25), and the tie goes to slot 1
    engine = load_engine("transformers", checkpoint, dtype="float32")
    reasons = protocol == "rrm" and "vote" in scores and args.reasoning_engine == "llamacpp"
    fast = reasoning_engine(args, checkpoint, work, tag) if reasons else None
    with engine, fast or contextlib.nullcontext():
        for name, files in heldout.items():
            rows = read_labelled(files[protocol])
            for score in scores:
                out = work / "eval" / f"{tag}-{name}-{score}.jsonl"
                judged, max_tokens, reader = rows, 16, engine
                if protocol == "rrm" and score == "vote":  # reasoning: the teacher's pairs
                    judged = teachers_pairs(rows, files["rrm"], args.teacher_vote_pairs)
                    max_tokens = args.reasoning_tokens
                    if fast:  # its own rows: a resumed run does not mix the two engines
                        reader, out = fast, out.with_name(f"{tag}-{name}-vote-llamacpp.jsonl")
                result = evaluate(
                    reader,
                    judged,
                    out,
                    protocol,
                    max_tokens=max_tokens,
                    score=score,
                    concurrency=4,
                    prefill=prefill and score == "vote",
                )
                figures[f"{name}-{score}"] = result.summary
                if reader is fast:
                    figures[f"{name}-{score}"]["engine"] = "llamacpp, f16 GGUF export"
                if score == "prob":
                    latest = {r["id"]: r for r in jsonl(out)}  # a retried row: its last line
                    scored = [latest[r.id] for r in judged if r.id in latest]
                    figures[f"{name}-{score}"]["by_length"] = length_split(
                        scored, work, name, files["rrm"]
                    )
    return figures


def reasoning_engine(args, checkpoint: str, work: Path, tag: str):
    """llama.cpp on the checkpoint's f16 GGUF export, for a reasoning student's vote: 2.6
    times transformers' speed here, and the same greedy text on 6 of 8 rows checked (f16
    rounding lets a long greedy text part from float32's). Exported again when the
    checkpoint is newer than the file."""
    gguf = work / "gguf" / f"{tag}.gguf"
    weights = max(p.stat().st_mtime for p in Path(checkpoint).glob("*.safetensors"))
    if gguf.exists() and gguf.stat().st_mtime < weights:
        gguf.unlink()
    if not gguf.exists():
        gguf.parent.mkdir(parents=True, exist_ok=True)
        export_gguf(checkpoint, gguf, base=args.student)
    return load_engine("llamacpp", str(gguf), parallel=4, context=args.context)


def curve_point(step: int, figures: dict) -> dict:
    """A learning-curve point: each set's `prob` pair accuracy at `step`, and the same split
    at training's length limit."""
    probs = {k: v for k, v in figures.items() if k.endswith("-prob")}
    accuracy = {k: v["probabilities"]["pair_accuracy"] for k, v in probs.items()}
    split = {k: v["by_length"] for k, v in probs.items()}
    return {"step": step} | accuracy | {"by_length": split}


def distilled(args, work: Path) -> Path:
    """The teacher's verdict-checked `rrm` chains (`train distill`, one sample a row and a
    hinted pass for rows with none) for --distill-pairs training pairs of each set, both
    orders: an SFT data folder, --distill-rows (in the repository by default, so hours of
    teacher time resume on any machine). Resumes; once both passes have finished
    (`complete`), the teacher is not loaded again."""
    out = args.distill_rows
    complete = out / "complete"
    if complete.exists():
        return out
    rows = [
        r
        for name in args.sets
        for r in first_pairs(training_rows(args, work, name), args.distill_pairs, 0)
    ]
    source = work / "data" / "distill-input" / "train.jsonl"
    write_jsonl(source, rows)
    # recorded in run.json: a rerun with another teacher or other rows is refused, not mixed;
    # the rows by their content, as the folder outlives the machine that prepared them
    settings = {"teacher": args.teacher, "engine": "llamacpp", "data_sha256": sha256_file(source)}
    settings["distill_pairs"] = args.distill_pairs
    engine = load_engine("llamacpp", args.teacher, parallel=4, context=args.context)
    with engine:
        config = DistillConfig(samples=1, hint=True, seed=0)
        distill(engine, read_labelled(source), out, "rrm", config, settings=settings)
    complete.touch()
    return out


def stage_settings(args, work: Path, stage: str):
    """The trainer and its settings for a stage: the config file with the harness's
    overrides (data, model, output, steps, checkpoints kept for the learning curve)."""
    out = work / stage
    keep_all = [f"output_dir={out}", "save_total_limit=null"]
    if stage.startswith("direct-sft"):
        overrides = [
            f"model={args.student}",
            f"data={work / 'data' / 'train-direct'}",
            f"target={'verdict' if stage == 'direct-sft-verdict' else 'label'}",
            f"epochs={args.sft_epochs}",
            f"save_steps={args.save_every}",
            *keep_all,
            *args.sft_set,
        ]
        return run_sft, load_settings(args.sft_config, "sft", overrides)
    if stage == "distill-sft":
        trained = (out / TRAIN_RESULT).exists()  # its data is not needed again
        overrides = [
            f"model={args.student}",
            f"data={args.distill_rows if trained else distilled(args, work)}",
            f"save_steps={args.save_every}",
            *keep_all,
            *args.sft_set,
        ]
        return run_sft, load_settings(args.distill_sft_config, "sft", overrides)
    protocol = protocol_of(stage)
    overrides = [
        f"model={work / stage.replace('grpo', 'sft')}",
        f"data={work / 'data' / f'train-{protocol}'}",
        f"protocol={protocol}",
        f"max_steps={args.grpo_steps}",
        f"save_steps={min(args.save_every, 20)}",  # GRPO steps are slow: resume points
        *keep_all,
    ]
    if stage == "distill-grpo":
        config = args.distill_grpo_config
        overrides += ["consistency=true", f"max_completion_length={args.reasoning_tokens}"]
    else:
        config = args.grpo_config
    return run_grpo, load_settings(config, "grpo", [*overrides, *args.grpo_set])


def finished_short(trained: Path, max_steps: int | None) -> int | None:
    """The step a finished stage ended at, when it is asked for more (say, --grpo-steps 6
    then 40); None when it is not finished or has the steps asked for."""
    if max_steps is None or not trained.exists():
        return None
    step = json.loads(trained.read_text())["global_step"]
    return step if step < max_steps else None


def retag_final_reads(work: Path, stage: str, step: int, sets: list[str]) -> None:
    """The final model's evaluation rows, renamed as those of its checkpoint at `step` (the
    same weights): the stage trains on, and its new final model must not resume from them."""
    for rows in (work / "eval").glob(f"{stage}-*.jsonl"):
        rest = rows.name[len(stage) + 1 :]
        if rest.split("-")[0] in sets:  # not a checkpoint's ({stage}-25-...) or another stage's
            rows.rename(rows.with_name(f"{stage}-{step}-{rest}"))


def train(args, work: Path, stage: str, heldout: dict) -> dict:
    """Train one stage (resuming), evaluate its checkpoints by prob (the learning curve)
    and the final model by vote and prob."""
    out = work / stage
    run, settings = stage_settings(args, work, stage)
    trained = out / TRAIN_RESULT
    ended = finished_short(trained, settings.max_steps)
    if ended is not None:  # trained on from its latest checkpoint, the time added up
        retag_final_reads(work, stage, ended, args.sets)
        trained.unlink()
    if not trained.exists():
        result = run(settings, cuda=False)
        trained.write_text(json.dumps(result.to_dict() | {"log_history": result.log_history}))
    result = json.loads(trained.read_text())
    curve = []
    how = {"protocol": protocol_of(stage)}
    for checkpoint in sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])):
        step = int(checkpoint.name.split("-")[1])
        if step % args.eval_every or step == result["global_step"]:
            continue  # a resume point, or the final model (read below): 800 rows a point
        tag = f"{stage}-{step}"
        figures = evaluate_student(args, str(checkpoint), heldout, tag, work, ["prob"], **how)
        curve.append(curve_point(step, figures))
    # a student trained with target: label (and GRPO from it) votes after the verdict's
    # opening: how it was trained is in the settings saved with it, whatever the config now
    trained_with = yaml.safe_load((out / SAVED_CONFIG).read_text())
    prefill = trained_with.get("target") == "label" or bool(trained_with.get("prefill"))
    final = evaluate_student(args, str(out), heldout, stage, work, args.scores, prefill, **how)
    curve.append(curve_point(result["global_step"], final))
    return {
        "final": final,
        "vote_prefilled": prefill,
        "curve": curve,
        "steps": result["global_step"],
        "train_seconds": result.get("total_seconds"),  # over every resumed run; None if unknown
        "train_seconds_last_run": result["seconds"],
        "rows": result["rows"],
        "log": [h for h in result["log_history"] if "loss" in h or "reward" in h],
    }


TRAINED = ["direct-sft-verdict", "direct-sft", "direct-grpo", "distill-sft", "distill-grpo"]


def target_check(figures: dict) -> list[dict]:
    """Issue 15's target per trained stage and held-out set: the student's `vote` at least 5
    points above the prompted teacher's `vote` (one random order), with both-order
    consistency of 0.70 or more."""
    teacher = figures.get("teacher-vote", {}).get("final", {})
    if not teacher:
        return []
    rows = []
    for stage in (st for st in TRAINED if st in figures):
        for name, t in teacher.items():
            student = figures[stage]["final"].get(f"{name}-vote")
            if student is None:
                continue
            gain = student["accuracy"] - t["accuracy"]
            consistency = student["both_orders"]["consistency"]
            met = round(gain, 4) >= 0.05 and consistency is not None and consistency >= 0.70
            rows.append(
                {
                    "set": name,
                    "student": stage,
                    "student vote": student["accuracy"],
                    "student rows": student["rows"],
                    "teacher vote": t["accuracy"],
                    "teacher rows": t["rows"],
                    "gain": round(gain, 4),
                    "consistency": consistency,
                    "met": met,
                }
            )
    return rows


def result_name(work: Path) -> str:
    """The result file's name, from the work folder's: runs/train_judge writes train_judge,
    runs/train_judge-uf (say, `--sets uf`) train_judge_uf, so one run never overwrites another."""
    return work.name.replace("-", "_")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, default=Path("runs/train_judge"))
    ap.add_argument("--sets", default="hh,uf")
    ap.add_argument("--stages", default=",".join(DEFAULT_STAGES))
    ap.add_argument("--heldout", type=int, default=200, help="held-out pairs per set")
    ap.add_argument("--train-pairs", type=int, default=1000, help="training pairs per set at most")
    ap.add_argument("--max-tokens", type=int, default=1024, help="drop longer training prompts")
    ap.add_argument(
        "--heldout-max-tokens", type=int, default=3000, help="drop longer held-out prompts"
    )
    ap.add_argument("--teacher", default="qwen2.5-1.5b")
    ap.add_argument(
        "--teacher-vote-pairs", type=int, default=60, help="pairs per set for teacher-vote"
    )
    ap.add_argument("--student", default=STUDENT)
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--sft-config", type=Path, default=Path("configs/cpu-smollm2-direct-sft.yaml"))
    ap.add_argument(
        "--grpo-config", type=Path, default=Path("configs/cpu-smollm2-direct-grpo.yaml")
    )
    ap.add_argument("--distill-sft-config", type=Path, default=Path("configs/cpu-smollm2-sft.yaml"))
    ap.add_argument(
        "--distill-grpo-config", type=Path, default=Path("configs/cpu-smollm2-grpo.yaml")
    )
    ap.add_argument(
        "--distill-pairs",
        type=int,
        default=60,
        help="training pairs per set the teacher reasons on",
    )
    ap.add_argument(
        "--distill-rows",
        type=Path,
        help="the teacher's chains (default: benchmarks/results/rows/train_judge/<run>/distill,"
        " committed as they come, so a fresh machine resumes)",
    )
    ap.add_argument(
        "--reasoning-tokens", type=int, default=1024, help="a reasoning student's token budget"
    )
    ap.add_argument(
        "--sft-epochs", type=float, default=1, help="direct-sft's (distill-sft: its config's)"
    )
    ap.add_argument("--grpo-steps", type=int, default=40)
    ap.add_argument(
        "--reasoning-engine",
        choices=["llamacpp", "transformers"],
        default="llamacpp",
        help="what reads a reasoning student's vote: llama.cpp on its f16 GGUF export (about"
        " 7 s a row here) or transformers in float32 (about 19 s)",
    )
    ap.add_argument(
        "--scores",
        default="vote,prob",
        help="how trained students are read at the end (a reasoning student's vote is the"
        " slow one: see --reasoning-engine)",
    )
    ap.add_argument("--eval-every", type=int, default=50, help="steps between curve points")
    ap.add_argument("--save-every", type=int, default=25, help="steps between checkpoints")
    ap.add_argument("--sft-set", action="append", default=[], help="more --set for every SFT stage")
    ap.add_argument(
        "--grpo-set", action="append", default=[], help="more --set for every GRPO stage"
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="8 pairs a set, 2 steps a stage; the teacher reasons only for distill-sft (2 pairs)",
    )
    args = ap.parse_args()
    args.sets = args.sets.split(",")
    args.scores = args.scores.split(",")
    if not set(args.scores) <= {"vote", "prob"}:  # "" is [""]: refused too
        raise SystemExit(f"--scores takes vote, prob or both, not {','.join(args.scores)!r}")
    stages = args.stages.split(",")
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise SystemExit(f"unknown stage(s) {unknown}; known: {', '.join(STAGES)}")
    if args.smoke:  # the real student, a few pairs and steps: the plumbing, in minutes
        args.heldout, args.train_pairs, args.eval_every, args.save_every = 4, 8, 1, 1
        args.work = args.work.with_name(args.work.name + "-smoke")
        args.sft_set += ["max_steps=2"]
        args.grpo_steps = 2
        args.grpo_set += ["max_completion_length=8"]
        args.distill_pairs, args.teacher_vote_pairs, args.reasoning_tokens = 2, 2, 32
        stages = [s for s in stages if not s.startswith("teacher")]

    work = args.work
    name = result_name(work)
    # a smoke run's few chains are scratch, not rows worth keeping
    rows = work / "distill" if args.smoke else TRAIN_ROWS / name / "distill"
    args.distill_rows = args.distill_rows or rows
    heldout = prepare(args, work)
    figures = previous_figures(name)
    figures["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    with resumable(work):  # stopped: the finished stages are in the result file
        for stage in stages:
            print(f"=== {stage}", flush=True)
            started = time.perf_counter()
            if stage.startswith("teacher"):

                def keep(done: dict, stage: str = stage) -> None:
                    """A finished set stays in the result file if the next is interrupted."""
                    figures[stage] = {"final": dict(done), "partial": True}
                    write_result(name, figures)

                figures[stage] = teacher(args, work, heldout, stage.split("-")[1], keep)
            elif stage == "untrained":
                figures[stage] = {
                    "final": evaluate_student(
                        args, args.student, heldout, stage, work, ["vote", "prob"]
                    )
                }
            else:
                figures[stage] = train(args, work, stage, heldout)
            figures[stage]["stage_seconds"] = round(time.perf_counter() - started, 1)
            # the file's `command` names the last run; each stage keeps the one that read it
            figures[stage]["command"] = this_command()
            write_result(name, figures)  # after every stage: an interruption keeps what is done

    table = []
    for stage in STAGES:
        if stage not in figures:
            continue
        for key, s in figures[stage]["final"].items():
            probs = s.get("probabilities") or {}
            table.append(
                {
                    "stage": stage,
                    "set": key,
                    "accuracy": s["accuracy"],
                    "both orders right": s["both_orders"]["pair_accuracy"],
                    "consistency": s["both_orders"]["consistency"],
                    "first slot": s["first_slot_share"],
                    "prob (pair)": probs.get("pair_accuracy"),
                }
            )
    report("judges on held-out pairs, both orders", table)
    figures["targets"] = target_check(figures)
    write_result(name, figures)
    if figures["targets"]:
        title = "target: student vote at least teacher vote + 0.05, consistency >= 0.70"
        report(title, figures["targets"])
    stages_done = sorted(k for k in figures if k in STAGES)
    print(json.dumps({"benchmark": name, "stages": stages_done, "targets": figures["targets"]}))


if __name__ == "__main__":
    main()
