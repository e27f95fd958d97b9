"""Two training processes on the CPU, as `accelerate launch --num_processes 2` runs them
(gloo): both ranks train on different pairs, each batch holds both orders of its pairs, only
rank 0 writes the final model, and the result loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

SCRIPT = Path(__file__).with_name("two_ranks.py")


def launch(stage: str, out: Path, port: int) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(port), str(SCRIPT), stage, str(out),
    ]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def records(out: Path, rank: int) -> list[dict]:
    return [json.loads(x) for x in (out / f"rank{rank}.jsonl").read_text().splitlines()]


def check_saved(out: Path) -> None:
    from transformers import AutoModelForCausalLM

    assert (out / "model.safetensors").is_file() and (out / "reasonrm-train.yaml").is_file()
    assert (out / "checkpoint-2").is_dir()
    AutoModelForCausalLM.from_pretrained(out)


def test_two_processes_train_sft_on_different_pairs_both_orders_each(tmp_path):
    out = tmp_path / "sft"
    done = launch("sft", out, 29561)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {}
    for rank in (0, 1):
        *batches, last = records(out, rank)
        assert last["hardware"] == {"device": "cpu", "processes": 2, "precision": "fp32"}
        assert len(batches) == 2
        for batch in batches:  # 2 rows a batch: the two orders of one pair
            assert len(batch["queries"]) == 2 and len(set(batch["queries"])) == 1
        seen[rank] = {b["queries"][0] for b in batches}
    assert seen[0].isdisjoint(seen[1])  # each rank its own shard
    check_saved(out)


def test_two_processes_train_grpo_with_whole_pairs_on_each_rank(tmp_path):
    out = tmp_path / "grpo"
    done = launch("grpo", out, 29562)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {}
    for rank in (0, 1):
        calls = records(out, rank)
        assert len(calls) == 2  # one reward call a step
        for call in calls:  # 2 prompts × 4 generations: both orders of one pair
            assert len(set(call["pairs"])) == 1 and sorted(call["labels"]) == ["A"] * 4 + ["B"] * 4
        seen[rank] = {c["pairs"][0] for c in calls}
    assert seen[0].isdisjoint(seen[1])
    check_saved(out)
