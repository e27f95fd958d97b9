"""The GPU path end to end, on a CUDA machine, by the commands a user types there.

    python benchmarks/gpu_check.py --model CHECKPOINT_FOLDER [--work runs/gpu_check]

The CPU tests cannot show what happens on a GPU: that `configs/gpu-7b-*.yaml` train in bf16
with gradient checkpointing, through `accelerate launch` too; that the trainer and the
transformers engine actually run on the GPU (a result records its device, so a silent fall
back to the CPU fails the check); that verdict probabilities read on the GPU equal the CPU's;
and that asking for vLLM where it is missing ends in one clear error. The model is any small
checkpoint folder (on a machine without the hub, training's tiny random model saved with
`save_pretrained`); the GPU configs run with it for a few steps on the smoke data, SFT at a
learning rate high enough for a random model to learn the verdict's format, so that its
verdict probabilities can be read after it. `--cpu` rehearses the steps on a CPU (bf16 off,
no GPU-against-CPU comparison), to check the script before a GPU machine's time is spent.

Prints a table and one JSON line; writes benchmarks/results/gpu_check.json. Exits 1 when a
step fails, after running the others.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, report, write_result

SFT_DATA = "configs/data/smoke-sft.jsonl"
GRPO_DATA = "configs/data/smoke-grpo"
PAIR = ["--prompt", "What is 17 * 3?", "--a", "51", "--b", "41"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reasonrm.cli", *args]


def run(command: list[str], timeout: int = 600) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return done, time.perf_counter() - started


def last_json(text: str) -> dict:
    """The JSON object a --json command printed (progress bars may precede it)."""
    return json.loads(text[text.index("{") :])


def environment() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "cuda": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
        "vllm": _importable("vllm"),
        "deepspeed": _importable("deepspeed"),
    }


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def train(
    stage: str, config: str, overrides: list[str], device: str, launcher: list[str] | None = None
):
    sets = [x for o in overrides for x in ("--set", o)]
    args = ["train", stage, "--config", config, *sets, "--json"]
    command = [*launcher, "-m", "reasonrm.cli", *args] if launcher else cli(*args)
    done, seconds = run(command)
    if done.returncode != 0:
        return {"ok": False, "seconds": seconds, "detail": done.stderr[-1500:]}
    result = last_json(done.stdout)
    hardware = result.get("hardware", {})
    ok = hardware.get("device") == device and result["steps_this_run"] > 0
    detail = (
        f"{result['global_step']} steps on {hardware}, loss {result['metrics'].get('train_loss')}"
    )
    return {"ok": ok, "seconds": seconds, "detail": detail, "result": result}


def evaluate(checkpoint: str, device: str, out: Path):
    out.unlink(missing_ok=True)
    args = ["train", "evaluate", checkpoint, "--data", f"{GRPO_DATA}/train.jsonl"]
    args += ["--score", "prob", "--dtype", "float32", "--device", device, "--out", str(out)]
    done, seconds = run(cli(*args, "--json"))
    if done.returncode != 0:
        return None, seconds, done.stderr[-1500:]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    return rows, seconds, ""


def same_probabilities(checkpoint: str, work: Path) -> dict:
    gpu, gpu_s, gpu_err = evaluate(checkpoint, "cuda", work / "eval-cuda.jsonl")
    cpu, cpu_s, cpu_err = evaluate(checkpoint, "cpu", work / "eval-cpu.jsonl")
    if gpu is None or cpu is None:
        return {"ok": False, "seconds": gpu_s + cpu_s, "detail": gpu_err or cpu_err}
    if len(gpu) != len(cpu) or not gpu or any(r.get("error") for r in gpu + cpu):
        detail = f"{len(gpu)} rows on the GPU, {len(cpu)} on the CPU, or rows with errors"
        return {"ok": False, "seconds": gpu_s + cpu_s, "detail": detail}
    # float32 both sides: differences are the kernels' rounding, far below a verdict's margin
    diff = max(abs(g["first_logodds"] - c["first_logodds"]) for g, c in zip(gpu, cpu, strict=True))
    same = sum(g["verdict"] == c["verdict"] for g, c in zip(gpu, cpu, strict=True))
    ok = diff < 1e-2 and same == len(gpu)
    detail = (
        f"{len(gpu)} rows, max |log-odds difference| {diff:.2e}, same verdict {same}/{len(gpu)}"
    )
    return {"ok": ok, "seconds": gpu_s + cpu_s, "detail": detail, "max_logodds_diff": diff}


def engine_device(checkpoint: str, device: str) -> dict:
    """The engine a user gets without --device: on a GPU machine, on the GPU."""
    from reasonrm import load_engine
    from reasonrm.specs import EngineSpec

    started = time.perf_counter()
    engine = load_engine(EngineSpec(model=checkpoint))
    try:
        placed = next(engine.net.parameters()).device.type
    finally:
        engine.close()
    ok = engine.device == device and placed == device
    detail = f"device {engine.device}, weights on {placed}"
    return {"ok": ok, "seconds": time.perf_counter() - started, "detail": detail}


def judge(checkpoint: str, score: str, device: str) -> dict:
    args = ["judge", *PAIR, "--engine", "transformers", "--model", checkpoint, "--device", device]
    args += ["--score", score, "--max-tokens", "32", "--json"]
    done, seconds = run(cli(*args))
    if done.returncode != 0:
        return {"ok": False, "seconds": seconds, "detail": done.stderr[-1500:]}
    j = last_json(done.stdout)
    p_a = j.get("p_a")
    ok = "winner" in j and (score != "prob" or (p_a is not None and 0.0 <= p_a <= 1.0))
    return {"ok": ok, "seconds": seconds, "detail": f"winner {j.get('winner')}, p_a {p_a}"}


def vllm_refused(checkpoint: str, work: Path) -> dict:
    """use_vllm where vLLM is not installed: one line naming it, exit status 2."""
    sets = [f"model={checkpoint}", f"data={GRPO_DATA}", f"output_dir={work / 'grpo-vllm'}"]
    sets += ["max_steps=1", "per_device_batch_size=8", "gradient_accumulation=1"]
    sets += ["num_generations=4", "max_completion_length=16"]
    args = ["train", "grpo", "--config", "configs/gpu-7b-grpo.yaml"]
    done, seconds = run(cli(*args, *[x for s in sets for x in ("--set", s)]))
    message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    ok = done.returncode == 2 and "vllm" in message.lower()
    return {"ok": ok, "seconds": seconds, "detail": f"exit {done.returncode}: {message[:200]}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a small checkpoint folder")
    parser.add_argument("--work", default="runs/gpu_check", help="outputs of the steps")
    parser.add_argument("--cpu", action="store_true", help="rehearse on the CPU")
    args = parser.parse_args()
    work = (ROOT / args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = environment()
    if not env["cuda"] and not args.cpu:
        raise SystemExit("gpu_check: torch sees no CUDA GPU here; run it on a GPU machine")
    device = "cpu" if args.cpu else "cuda"
    precision = ["bf16=false", "dtype=float32"] if args.cpu else []
    model = str(Path(args.model).resolve())
    sft_out, grpo_out = str(work / "sft"), str(work / "grpo")
    sft_sets = [f"model={model}", f"data={SFT_DATA}", "max_steps=8", "per_device_batch_size=2"]
    sft_sets += ["gradient_accumulation=1", "learning_rate=0.003", "max_length=1024"]
    sft_sets += ["save_steps=4", *precision]
    grpo_sets = [f"data={GRPO_DATA}", "use_vllm=false", "max_steps=2", "save_steps=2"]
    grpo_sets += ["per_device_batch_size=8", "gradient_accumulation=1", "num_generations=4"]
    grpo_sets += ["max_completion_length=32", *precision]
    mixed = "no" if args.cpu else "bf16"
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1"]
    accelerate += ["--mixed_precision", mixed]

    steps: dict[str, dict] = {}

    def step(name: str, check, *args, **kwargs) -> None:
        """One check; one that raises is a failed step, and the others still run."""
        started = time.perf_counter()
        try:
            steps[name] = check(*args, **kwargs)
        except Exception as e:
            detail = f"{type(e).__name__}: {e}"
            steps[name] = {"ok": False, "seconds": time.perf_counter() - started, "detail": detail}

    sft_config, grpo_config = "configs/gpu-7b-sft.yaml", "configs/gpu-7b-grpo.yaml"
    step(
        "sft, gpu-7b-sft.yaml",
        train,
        "sft",
        sft_config,
        [*sft_sets, f"output_dir={sft_out}"],
        device,
    )
    accelerate_sets = [*sft_sets, f"output_dir={work / 'sft-accelerate'}"]
    step("sft, accelerate launch", train, "sft", sft_config, accelerate_sets, device, accelerate)
    grpo_sets += [f"model={sft_out}", f"output_dir={grpo_out}"]
    step("grpo, gpu-7b-grpo.yaml, no vLLM", train, "grpo", grpo_config, grpo_sets, device)
    if not env["vllm"]:
        step("grpo, use_vllm without vLLM", vllm_refused, model, work)
    step("engine, device auto", engine_device, grpo_out, device)
    if not args.cpu:
        step("evaluate prob, GPU = CPU", same_probabilities, grpo_out, work)
    step("judge --score prob", judge, grpo_out, "prob", device)
    step("judge --score vote", judge, grpo_out, "vote", device)

    rows = [
        {"step": name, "ok": s["ok"], "seconds": round(s["seconds"], 1), "detail": s["detail"]}
        for name, s in steps.items()
    ]
    report(f"GPU path: {env['gpu'] or 'CPU rehearsal'}", rows)
    figures = {"environment": env, "steps": rows, "all_ok": all(r["ok"] for r in rows)}
    write_result("gpu_check_cpu_rehearsal" if args.cpu else "gpu_check", figures)
    print(json.dumps(figures))
    raise SystemExit(0 if figures["all_ok"] else 1)


if __name__ == "__main__":
    main()
