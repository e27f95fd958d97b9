"""TRL's SFTConfig / GRPOConfig from reasonrm's training settings."""

from __future__ import annotations

import logging
from typing import Any

from reasonrm.engines.transformers import NO_HUB_KERNELS
from reasonrm.errors import InputError, MissingDependencyError
from reasonrm.training.config import GRPOSettings, SFTSettings, TrainSettings

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def bf16_enabled(settings: TrainSettings, cuda: bool) -> bool:
    if not cuda:
        if settings.bf16:
            log.warning("bf16 is off: no CUDA GPU here (TRL trains in float32 on the CPU)")
        return False
    if settings.bf16 is not None:
        return settings.bf16
    import torch

    return torch.cuda.is_bf16_supported()


def trl_kwargs(settings: TrainSettings, cuda: bool | None = None) -> dict[str, Any]:
    """Keyword arguments for TRL's SFTConfig or GRPOConfig. `cuda`: None detects."""
    cuda = cuda_available() if cuda is None else cuda
    if isinstance(settings, GRPOSettings) and settings.use_vllm and not cuda:
        raise InputError(
            "use_vllm needs a CUDA GPU (vLLM has no CPU wheel); set use_vllm: false "
            "(or --set use_vllm=false) to generate with transformers"
        )
    kw: dict[str, Any] = {
        "output_dir": settings.output_dir,
        "learning_rate": settings.learning_rate,
        "lr_scheduler_type": settings.lr_scheduler,
        "warmup_steps": int(settings.warmup) if settings.warmup >= 1 else settings.warmup,
        "weight_decay": settings.weight_decay,
        "max_grad_norm": settings.max_grad_norm,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "per_device_train_batch_size": settings.per_device_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "seed": settings.seed,
        "save_strategy": "steps",
        "save_steps": settings.save_steps,
        "save_total_limit": settings.save_total_limit,
        "logging_steps": settings.logging_steps,
        "report_to": settings.report_to,
        "run_name": settings.run_name,
        "bf16": bf16_enabled(settings, cuda),
        "use_cpu": not cuda,
    }
    if settings.both_orders:  # the rows come in pair units: TRL must keep their order
        kw |= {"shuffle_dataset": False, "train_sampling_strategy": "sequential"}
    if isinstance(settings, SFTSettings):
        kw |= {
            "max_length": settings.max_length,
            "packing": settings.packing,
            "assistant_only_loss": settings.loss == "assistant",
            "completion_only_loss": settings.loss == "completion",
        }
    elif isinstance(settings, GRPOSettings):
        kw |= {
            "num_generations": settings.num_generations,
            "max_completion_length": settings.max_completion_length,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "beta": settings.beta,
            "use_vllm": settings.use_vllm,
            "log_completions": False,
        }
        if settings.beta > 0:  # TRL loads the reference model itself, from these arguments
            kw["model_init_kwargs"] = NO_HUB_KERNELS | settings.trl.get("model_init_kwargs", {})
        if settings.use_vllm:
            kw |= {
                "vllm_mode": settings.vllm_mode,
                "vllm_gpu_memory_utilization": settings.vllm_gpu_memory_utilization,
            }
    clash = sorted(set(settings.trl) & set(kw) - {"model_init_kwargs"})  # merged above
    if clash:
        raise InputError(
            f"trl: {', '.join(clash)} set here would override a reasonrm field; "
            "set it through the field of that name instead (see configs/README.md)"
        )
    return settings.trl | kw


def trl_config_class(settings: TrainSettings) -> type:
    try:
        from trl import GRPOConfig, SFTConfig
    except ImportError:
        raise MissingDependencyError("training needs TRL: pip install 'reasonrm[train]'") from None
    return GRPOConfig if isinstance(settings, GRPOSettings) else SFTConfig


def build_trl_args(settings: TrainSettings, cuda: bool | None = None) -> Any:
    """TRL's SFTConfig or GRPOConfig for these settings. A `trl:` key TRL does not know,
    or a value TRL refuses, is an InputError."""
    return trl_config(settings, trl_kwargs(settings, cuda))


def trl_config(settings: TrainSettings, kw: dict[str, Any]) -> Any:
    """TRL's config class for the settings' stage, built from keyword arguments `kw`."""
    cls = trl_config_class(settings)
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(settings.trl) - known)
    if unknown:
        raise InputError(f"trl: {cls.__name__} has no field(s) {', '.join(unknown)}")
    kw = dict(kw)
    if "activation_checkpointing" in known:  # transformers 5 renamed gradient_checkpointing
        kw.setdefault("activation_checkpointing", kw.pop("gradient_checkpointing"))
    try:
        return cls(**kw)
    except (ValueError, TypeError) as e:
        raise InputError(f"TRL refused these settings: {e}") from None
