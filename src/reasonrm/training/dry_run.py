"""`reasonrm train sft|grpo --dry-run`: build everything a run would build before its first
step, on any machine, so that a GPU run fails on nothing that could be checked on a laptop.

Built and checked: the settings (with the process count of `--accelerate-config`, so the
batch shapes are checked for the real world size), TRL's SFTConfig / GRPOConfig, and the
accelerate config with its DeepSpeed file. What only the GPU machine can check (CUDA, bf16
support, vLLM and DeepSpeed being installed, the model and data existing where the run
will look) is listed as notes, not errors.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasonrm.errors import InputError
from reasonrm.training.config import GRPOSettings, TrainSettings
from reasonrm.training.trl_args import cuda_available, trl_config, trl_kwargs


@dataclass
class DryRun:
    settings: TrainSettings
    trl_class: str
    trl: dict[str, Any]
    processes: int = 1
    accelerate: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.model_dump(mode="json"),
            self.trl_class: self.trl,
            "processes": self.processes,
            "accelerate": self.accelerate,
            "notes": self.notes,
        }


def needs_gpu(settings: TrainSettings) -> bool:
    return bool(settings.bf16) or (isinstance(settings, GRPOSettings) and settings.use_vllm)


def _revalidate(settings: TrainSettings, processes: int) -> TrainSettings:
    """The settings checked again as `processes` ranks will check them."""
    before = os.environ.get("WORLD_SIZE")
    os.environ["WORLD_SIZE"] = str(processes)
    try:
        return type(settings).model_validate(settings.model_dump())
    except ValueError as e:
        raise InputError(f"with {processes} processes: {e}") from None
    finally:
        if before is None:
            os.environ.pop("WORLD_SIZE", None)
        else:
            os.environ["WORLD_SIZE"] = before


def check_accelerate(path: Path, settings: TrainSettings, notes: list[str]) -> dict[str, Any]:
    """The accelerate config as accelerate reads it, and its DeepSpeed file against the
    settings (DeepSpeed's batch fields must be "auto" or agree with ours)."""
    from accelerate.commands.config.config_args import load_config_from_file

    if not path.is_file():
        raise InputError(f"no such accelerate config: {path}")
    try:
        config = load_config_from_file(str(path))
    except (ValueError, TypeError, KeyError) as e:
        raise InputError(f"{path}: accelerate cannot read it ({e})") from None
    found = {
        "distributed_type": str(config.distributed_type).rsplit(".", 1)[-1],
        "num_processes": config.num_processes,
        "num_machines": config.num_machines,
    }
    deepspeed = (getattr(config, "deepspeed_config", None) or {}).get("deepspeed_config_file")
    if deepspeed:
        ds_path = Path(deepspeed)
        if not ds_path.is_file():
            raise InputError(f"{path}: deepspeed_config_file {ds_path} does not exist")
        try:
            ds = json.loads(ds_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise InputError(f"{ds_path}: not valid JSON ({e})") from None
        found["zero_stage"] = ds.get("zero_optimization", {}).get("stage")
        for key, ours in (
            ("train_micro_batch_size_per_gpu", settings.per_device_batch_size),
            ("gradient_accumulation_steps", settings.gradient_accumulation),
        ):
            value = ds.get(key, "auto")
            if value != "auto" and value != ours:
                raise InputError(f"{ds_path}: {key} is {value}, but the settings say {ours}")
        if importlib.util.find_spec("deepspeed") is None:
            notes.append(
                "DeepSpeed is not installed here: pip install deepspeed on the GPU machine"
            )
    return found


def dry_run(settings: TrainSettings, accelerate_config: Path | None = None) -> DryRun:
    notes: list[str] = []
    accelerate: dict[str, Any] = {}
    processes = 1
    if accelerate_config is not None:
        accelerate = check_accelerate(accelerate_config, settings, notes)
        processes = int(accelerate["num_processes"] or 1)
        settings = _revalidate(settings, processes)
    cuda = cuda_available()
    gpu_only = needs_gpu(settings) and not cuda
    if gpu_only:  # TRL refuses bf16 without a GPU: build the rest, as the GPU machine will
        kw = trl_kwargs(settings, cuda=True) | {"bf16": False, "use_cpu": True}
        notes.append("no CUDA GPU here: bf16 and the device are checked when the run starts")
    else:
        kw = trl_kwargs(settings, cuda=cuda)
    args = trl_config(settings, kw)
    vllm = isinstance(settings, GRPOSettings) and settings.use_vllm
    if vllm and importlib.util.find_spec("vllm") is None:
        notes.append("vLLM is not installed here: pip install 'trl[vllm]' on the GPU machine")
    for name, value in (("model", settings.model), ("data", settings.data)):
        local = name == "data" or value.startswith(("runs/", "./", "../", "/", "~"))
        if local and not Path(value).expanduser().exists():
            notes.append(f"{name} {value} does not exist here (an earlier stage writes it)")
    trl = {k: getattr(args, k) for k in kw if hasattr(args, k)}
    if gpu_only:
        trl |= {"bf16": bool(settings.bf16), "use_cpu": False}
    return DryRun(settings, type(args).__name__, trl, processes, accelerate, notes)
