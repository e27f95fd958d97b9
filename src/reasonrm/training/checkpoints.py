"""Models to train: anything the transformers engine can load (GGUF files included), the
tiny random model of the smoke tests, LoRA settings, and the checkpoints a run leaves."""

from __future__ import annotations

import atexit
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from reasonrm.errors import MissingDependencyError
from reasonrm.training.config import TINY_RANDOM, TrainSettings
from reasonrm.training.trl_args import bf16_enabled, cuda_available


def load_trainable(model: str, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, tokenizer) ready for a TRL trainer. `model`: a checkpoint folder, a .gguf file
    or a registry name. transformers dequantizes a GGUF but marks the model as quantized,
    which trainers refuse (and `save_pretrained` fails on), so the weights are moved into a
    plain model built from the same config."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise MissingDependencyError(
            "training needs torch and transformers: pip install 'reasonrm[train]'"
        ) from None
    from reasonrm.engines.transformers import NO_HUB_KERNELS, locate_checkpoint

    source, kwargs = locate_checkpoint(model)
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded = AutoModelForCausalLM.from_pretrained(
        source, dtype=getattr(torch, dtype), **NO_HUB_KERNELS, **kwargs
    )
    if "gguf_file" not in kwargs:
        return loaded, tokenizer
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    return plain, tokenizer


@lru_cache(maxsize=1)
def _smollm2_tokenizer_files() -> Path:
    """SmolLM2's tokenizer, read once from its GGUF (a few seconds) into a temporary folder."""
    import tempfile

    from transformers import AutoTokenizer

    from reasonrm.models import resolve_gguf

    gguf = resolve_gguf("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    folder = Path(tempfile.mkdtemp(prefix="reasonrm-tiny-tokenizer-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_random_model(seed: int = 0) -> tuple[Any, Any]:
    """A 2-layer Llama (hidden 64, tied embeddings) with random weights, and SmolLM2's
    tokenizer and chat template: trains a step in a fraction of a second."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(_smollm2_tokenizer_files())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model, tokenizer


def load_model(settings: TrainSettings, cuda: bool | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) to train: tiny-random, or anything `load_trainable` reads."""
    if settings.model == TINY_RANDOM:
        return tiny_random_model(settings.seed)
    cuda = cuda_available() if cuda is None else cuda
    dtype = settings.dtype
    if dtype == "auto":
        dtype = "bfloat16" if bf16_enabled(settings, cuda) else "float32"
    return load_trainable(settings.model, dtype=dtype)


def peft_config(settings: TrainSettings) -> Any:
    if settings.lora is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError:
        raise MissingDependencyError("lora needs peft: pip install 'reasonrm[train]'") from None
    lora = settings.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(folder))
    return Path(found) if found else None
