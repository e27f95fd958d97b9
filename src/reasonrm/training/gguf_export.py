"""A trained checkpoint folder as one GGUF file, so the embedded llama.cpp engine (and any
llama.cpp, Ollama or LM Studio) serves the judge a run trained: 2.6 times faster than
transformers on this 2-core CPU (benchmarks/gguf_export.py).

The architecture's settings come from the checkpoint's config.json and its weights from its
safetensors. The tokenizer comes from the GGUF the run started from (followed through each
run's saved settings): training changes weights, never the vocabulary. Llama-architecture
checkpoints only (SmolLM2, the CPU student); others go through llama.cpp's
convert_hf_to_gguf.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from reasonrm.errors import InputError, MissingDependencyError
from reasonrm.models import REGISTRY, resolve_gguf
from reasonrm.training.config import SAVED_CONFIG

# each tensor type: the gguf library's names for its matrices and for the file as a whole
TENSOR_TYPES = {
    "f16": ("F16", "MOSTLY_F16"),
    "q8_0": ("Q8_0", "MOSTLY_Q8_0"),
    "f32": ("F32", "ALL_F32"),
}


def base_gguf(checkpoint: Path) -> str:
    """The registry name or .gguf file a run started from: each run saves its settings, and
    a run that started from another run's folder (GRPO after SFT) is followed back."""
    folder, seen = checkpoint, set()
    while (folder / SAVED_CONFIG).exists() and folder.resolve() not in seen:
        seen.add(folder.resolve())
        model = str((yaml.safe_load((folder / SAVED_CONFIG).read_text()) or {}).get("model", ""))
        if model in REGISTRY or model.endswith(".gguf"):
            return model
        folder = Path(model) if Path(model).is_absolute() else Path.cwd() / model
    raise InputError(
        f"{checkpoint}: no GGUF to take the tokenizer from (the run did not start from one): "
        "name the GGUF with the same tokenizer with --base"
    )


def llama_permute(weights: Any, heads: int) -> Any:
    """Hugging Face keeps each head's rotary halves apart; llama.cpp's llama layout
    interleaves them. The same reshape transformers undoes when it loads a llama GGUF."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _checkpoint_tensors(folder: Path) -> dict[str, Any]:
    """Every tensor of the checkpoint's safetensors files, as float32 numpy arrays."""
    import torch
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise InputError(f"{folder}: no .safetensors weights (a checkpoint saved by training)")
    tensors = {}
    for file in files:
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                tensors[name] = f.get_tensor(name).to(torch.float32).numpy()
    return tensors


def _copy_tokenizer(writer: Any, base: Any, chat_template: str | None) -> None:
    """The base GGUF's tokenizer fields, with the checkpoint's own chat template if it has one."""
    import gguf

    for key, field in base.fields.items():
        if not key.startswith("tokenizer."):
            continue
        if key == "tokenizer.chat_template" and chat_template is not None:
            continue
        array = field.types[0] == gguf.GGUFValueType.ARRAY
        sub_type = field.types[-1] if array else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
    if chat_template is not None:
        writer.add_chat_template(chat_template)


def _check_config(config: dict, folder: Path) -> dict:
    if config.get("model_type") != "llama":
        raise InputError(
            f"{folder}: a {config.get('model_type')!r} checkpoint; this export writes llama "
            "checkpoints (SmolLM2): use llama.cpp's convert_hf_to_gguf.py for others"
        )
    rope = config.get("rope_parameters") or {"rope_theta": config.get("rope_theta", 10000.0)}
    if rope.get("rope_type", "default") != "default" or config.get("rope_scaling"):
        raise InputError(f"{folder}: rope scaling is not supported by this export")
    return rope


def export_gguf(
    checkpoint: str | Path,
    out: str | Path,
    base: str | None = None,
    tensor_type: str = "f16",
) -> Path:
    """Write `checkpoint` (a folder saved by training) as the GGUF file `out`. `base`: the
    registry name or .gguf whose tokenizer the checkpoint shares (default: the one its run
    started from). `tensor_type`: f16, q8_0 (half the size, faster on a CPU) or f32; norms
    stay f32. The file appears only when complete."""
    try:
        import gguf
    except ImportError:
        raise MissingDependencyError(
            "GGUF export needs gguf: pip install 'reasonrm[train]'"
        ) from None
    folder, out = Path(checkpoint), Path(out)
    if tensor_type not in TENSOR_TYPES:
        raise InputError(f"tensor type {tensor_type!r}: use one of {', '.join(TENSOR_TYPES)}")
    if not (folder / "config.json").exists():
        raise InputError(f"{folder} is not a checkpoint folder (no config.json)")
    if out.exists():
        raise InputError(f"{out} exists: give a new file name")
    config = json.loads((folder / "config.json").read_text())
    rope = _check_config(config, folder)
    base_path = resolve_gguf(base or base_gguf(folder))
    reader = gguf.GGUFReader(base_path)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    if vocab != config["vocab_size"]:
        raise InputError(
            f"{base_path.name} has {vocab} tokens and {folder} {config['vocab_size']}: "
            "not the same tokenizer; name the right GGUF with --base"
        )
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    layers = config["num_hidden_layers"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    template = folder / "chat_template.jinja"

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, layers)
    quant_name, file_type_name = TENSOR_TYPES[tensor_type]
    quant = gguf.GGMLQuantizationType[quant_name]
    file_type = gguf.LlamaFileType[file_type_name]
    partial = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(partial, "llama")
    try:
        writer.add_name(folder.resolve().name)
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        writer.add_block_count(layers)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_head_count(heads)
        writer.add_head_count_kv(kv_heads)
        writer.add_rope_freq_base(float(rope["rope_theta"]))
        writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
        writer.add_vocab_size(config["vocab_size"])
        writer.add_rope_dimension_count(head_dim)
        _copy_tokenizer(writer, reader, template.read_text() if template.exists() else None)
        for name, data in _checkpoint_tensors(folder).items():
            if name == "lm_head.weight" and config.get("tie_word_embeddings"):
                continue  # the embedding, saved twice by some versions
            target = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if target is None:
                raise InputError(f"{folder}: tensor {name} has no llama GGUF name")
            if target.endswith("attn_q.weight"):
                data = llama_permute(data, heads)
            elif target.endswith("attn_k.weight"):
                data = llama_permute(data, kv_heads)
            _add_tensor(writer, target, data, quant)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)  # no half-written file left beside `out`
        raise
    writer.close()
    os.replace(partial, out)
    return out


def _add_tensor(writer: Any, name: str, data: Any, quant: Any) -> None:
    """Vectors (norms) in f32, as llama.cpp expects; a matrix in `quant` where its rows fit
    the format's blocks, else f16."""
    import gguf
    import numpy as np

    if data.ndim == 1 or quant == gguf.GGMLQuantizationType.F32:
        writer.add_tensor(name, data.astype(np.float32))
        return
    block = gguf.GGML_QUANT_SIZES[quant][0]
    if quant == gguf.GGMLQuantizationType.F16 or data.shape[-1] % block:
        writer.add_tensor(name, data.astype(np.float16))
        return
    packed = gguf.quants.quantize(data, quant)
    writer.add_tensor(name, packed, raw_shape=packed.shape, raw_dtype=quant)
