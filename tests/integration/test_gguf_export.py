"""`reasonrm models to-gguf`: a trained checkpoint as a GGUF that llama.cpp serves. Checked
against transformers' own GGUF reader (an independent inverse of the layout) and against the
checkpoint's own predictions in llama.cpp."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from typer.testing import CliRunner

from reasonrm.cli import app
from reasonrm.errors import InputError

pytest.importorskip("transformers")
pytest.importorskip("gguf")

from reasonrm.training.gguf_export import base_gguf, export_gguf  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, smollm2_path):
    """A saved 2-layer Llama with random weights and SmolLM2's tokenizer, as training saves
    one: what it started from is in its settings."""
    from reasonrm.training.checkpoints import tiny_random_model

    folder = tmp_path_factory.mktemp("tiny")
    net, tokenizer = tiny_random_model(seed=3)
    net.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "reasonrm-train.yaml").write_text("stage: sft\nmodel: smollm2-135m\n")
    return folder


def test_the_export_reads_back_to_the_same_weights_in_transformers(tiny_checkpoint, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    out = export_gguf(tiny_checkpoint, tmp_path / "tiny.gguf", tensor_type="f32")
    original = AutoModelForCausalLM.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    read = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=out.name, dtype=torch.float32)
    before, after = original.state_dict(), read.state_dict()
    assert set(before) == set(after)
    # q and k pass through llama.cpp's head layout and back: exact in float32
    for name, weights in before.items():
        assert torch.equal(weights, after[name]), name
    assert not out.with_name(out.name + ".partial").exists()


def test_a_checkpoint_predicts_the_same_next_token_in_llamacpp(tmp_path, smollm2_path):
    """SmolLM2 as a checkpoint folder (what training saves), exported, then asked for the
    verdict's next token by llama.cpp and by transformers on the folder itself."""
    from reasonrm.engines.llamacpp import LlamaCppEngine
    from reasonrm.engines.transformers import TransformersEngine

    folder = tmp_path / "checkpoint"
    assert (
        runner.invoke(app, ["models", "export", "smollm2-135m", "--out", str(folder)]).exit_code
        == 0
    )
    out = tmp_path / "judge.gguf"
    result = runner.invoke(
        app, ["models", "to-gguf", str(folder), "--out", str(out), "--base", "smollm2-135m"]
    )
    assert result.exit_code == 0, result.output
    assert "judge.gguf" in result.output
    chat = [
        {"role": "user", "content": "Which is the capital of France, A: Paris or B: Lyon?"},
        {"role": "assistant", "content": "The answer is"},
    ]
    checkpoint = TransformersEngine(str(folder), dtype="float32")
    try:
        [want] = asyncio.run(checkpoint.anext_tokens([chat], top=5))
    finally:
        checkpoint.close()
    with LlamaCppEngine(str(out), parallel=1, context=512, threads=2) as engine:
        [got] = asyncio.run(engine.anext_tokens([chat], top=5))
    best = lambda t: max(t.logprobs, key=t.logprobs.get)  # noqa: E731
    assert best(got) == best(want)
    shared = set(want.logprobs) & set(got.logprobs)
    assert len(shared) >= 4
    for token in shared:  # f16 weights: the same distribution within rounding
        assert got.logprobs[token] == pytest.approx(want.logprobs[token], abs=0.05), token

    again = runner.invoke(app, ["models", "to-gguf", str(folder), "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def test_q8_0_halves_the_file_and_loads_in_llamacpp(tiny_checkpoint, tmp_path):
    from reasonrm.engines.llamacpp import LlamaCppEngine
    from reasonrm.types import SamplingParams

    f16 = export_gguf(tiny_checkpoint, tmp_path / "f16.gguf")
    q8 = export_gguf(tiny_checkpoint, tmp_path / "q8.gguf", tensor_type="q8_0")
    import gguf

    def tensor_bytes(path):
        return sum(int(t.n_bytes) for t in gguf.GGUFReader(path).tensors)

    # the tokenizer's strings are the same in both; the weights are about half
    assert tensor_bytes(q8) < 0.6 * tensor_bytes(f16)
    kinds = {t.name: t.tensor_type.name for t in gguf.GGUFReader(q8).tensors}
    assert kinds["token_embd.weight"] == "Q8_0" and kinds["output_norm.weight"] == "F32"
    with LlamaCppEngine(str(q8), parallel=1, context=256, threads=2) as engine:
        [[sample]] = engine.generate(
            [[{"role": "user", "content": "hi"}]], SamplingParams(max_tokens=4, temperature=0)
        )
    assert sample.completion_tokens == 4  # random weights: four tokens, whatever they are


def test_the_tokenizer_comes_from_the_gguf_the_run_started_from(tmp_path):
    sft = tmp_path / "sft"
    grpo = tmp_path / "grpo"
    sft.mkdir()
    grpo.mkdir()
    (sft / "reasonrm-train.yaml").write_text("stage: sft\nmodel: smollm2-135m\n")
    (grpo / "reasonrm-train.yaml").write_text(f"stage: grpo\nmodel: {sft}\n")
    assert base_gguf(grpo) == "smollm2-135m"
    (sft / "reasonrm-train.yaml").write_text("stage: sft\nmodel: some-org/some-hub-model\n")
    with pytest.raises(InputError, match="--base"):
        base_gguf(grpo)


def test_bad_checkpoints_are_refused_before_anything_is_written(tiny_checkpoint, tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        export_gguf(tmp_path, tmp_path / "x.gguf")
    with pytest.raises(InputError, match="tensor type"):
        export_gguf(tiny_checkpoint, tmp_path / "x.gguf", tensor_type="q4_k")

    other = tmp_path / "qwen"
    shutil.copytree(tiny_checkpoint, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config | {"model_type": "qwen2"}))
    with pytest.raises(InputError, match="convert_hf_to_gguf"):
        export_gguf(other, tmp_path / "x.gguf")

    (other / "config.json").write_text(json.dumps(config | {"vocab_size": 32000}))
    with pytest.raises(InputError, match="not the same tokenizer"):
        export_gguf(other, tmp_path / "x.gguf")

    # a tensor with no llama name: refused while the tensors are read
    import torch
    from safetensors.torch import save_file

    (other / "config.json").write_text(json.dumps(config))
    save_file({"model.value_head.weight": torch.zeros(2, 2)}, str(other / "extra.safetensors"))
    with pytest.raises(InputError, match="model.value_head.weight"):
        export_gguf(other, tmp_path / "x.gguf")
    assert not any(tmp_path.glob("x.gguf*"))


def test_train_judge_reads_a_reasoning_vote_from_an_export_of_the_latest_weights(
    tiny_checkpoint, tmp_path
):
    import argparse
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import train_judge

    args = argparse.Namespace(student="smollm2-135m", context=256)
    with train_judge.reasoning_engine(args, str(tiny_checkpoint), tmp_path, "distill-sft") as e:
        assert e.name == "llamacpp"
    exported = tmp_path / "gguf" / "distill-sft.gguf"
    first = exported.stat().st_mtime
    with train_judge.reasoning_engine(args, str(tiny_checkpoint), tmp_path, "distill-sft"):
        assert exported.stat().st_mtime == first  # the weights did not change: kept
    weights = tiny_checkpoint / "model.safetensors"
    os.utime(weights, (first + 10, first + 10))  # retrained after the export
    with train_judge.reasoning_engine(args, str(tiny_checkpoint), tmp_path, "distill-sft"):
        assert exported.stat().st_mtime > first


def test_an_interrupted_export_leaves_no_file(tiny_checkpoint, tmp_path, monkeypatch):
    import gguf

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_gguf(tiny_checkpoint, tmp_path / "x.gguf")
    assert not any(tmp_path.glob("x.gguf*"))  # the header was written: a .partial existed
