"""Trainable Hugging Face models from anything the transformers engine can load, GGUF
files included."""

from __future__ import annotations

from typing import Any

from reasonrm.errors import MissingDependencyError


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
    from reasonrm.engines.transformers import locate_checkpoint

    source, kwargs = locate_checkpoint(model)
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), **kwargs)
    if "gguf_file" not in kwargs:
        return loaded, tokenizer
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    return plain, tokenizer
