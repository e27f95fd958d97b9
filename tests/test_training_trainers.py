"""Real TRL runs on the tiny random model (2 layers, hidden 64, SmolLM2's tokenizer): SFT
(full and LoRA) and GRPO for 2 steps each, reloading what they save, and resuming."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

import torch  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from reasonrm.cli import app  # noqa: E402
from reasonrm.errors import InputError  # noqa: E402
from reasonrm.pairs import PreferencePair  # noqa: E402
from reasonrm.rewards import text_of  # noqa: E402
from reasonrm.training.checkpoints import tiny_random_model  # noqa: E402
from reasonrm.training.config import SAVED_CONFIG, load_settings  # noqa: E402
from reasonrm.training.data import prepare, write_prepared  # noqa: E402
from reasonrm.training.grpo import run_grpo  # noqa: E402
from reasonrm.training.run import WALL_CLOCK  # noqa: E402
from reasonrm.training.sft import run_sft  # noqa: E402

PAIRS = [
    ("What is 17 * 3?", "51.", "41."),
    ("Capital of Australia?", "Canberra.", "Sydney."),
    ("Is 91 prime?", "No: 7 * 13.", "Yes."),
    ("Legs on a spider?", "Eight.", "Six."),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A `data prepare` folder (GRPO) and SFT chats built from the same judge prompts."""
    folder = tmp_path_factory.mktemp("data")
    pairs = [
        PreferencePair(({"role": "user", "content": q},), c, r, f"t:{i}")
        for i, (q, c, r) in enumerate(PAIRS)
    ]
    prepared = prepare(pairs, "rrm", seed=0)
    write_prepared(prepared, folder / "prepared")
    with open(folder / "sft.jsonl", "w") as f:
        for row in prepared.train:
            slot = "1" if row.label == "A" else "2"
            answer = {"role": "assistant", "content": f"Checked. \\boxed{{Assistant {slot}}}"}
            f.write(json.dumps({"messages": row.messages + [answer], **pair_of(row)}) + "\n")
    return folder


def pair_of(row):
    return {"pair": row.pair, "label": row.label}


def settings(stage, data_path, out, *extra):
    common = [
        "model=tiny-random",
        f"data={data_path}",
        f"output_dir={out}",
        "max_steps=2",
        "learning_rate=1e-2",
        "logging_steps=1",
        "save_steps=100",
    ]
    if stage == "sft":
        common += ["per_device_batch_size=2", "max_length=1024"]
    else:
        # 2 prompts × 2 generations: both orders of one pair a step
        common += ["per_device_batch_size=4", "num_generations=2", "max_completion_length=8"]
    return load_settings(None, stage, common + list(extra))


def changed(model, seed=0, names=None):
    """Names of the parameters that differ from the tiny model's initial weights."""
    initial = dict(tiny_random_model(seed)[0].named_parameters())
    return [
        n
        for n, p in model.named_parameters()
        if (names is None or any(k in n for k in names)) and not torch.equal(p, initial[n])
    ]


def reload(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.chat_template and "im_start" in tokenizer.chat_template
    return model


def test_sft_full_run_saves_a_loadable_changed_model(data, tmp_path):
    out = tmp_path / "sft"
    result = run_sft(settings("sft", data / "sft.jsonl", out), cuda=False)
    assert result.global_step == 2 and result.steps_this_run == 2 and result.rows == 8
    assert result.resumed_from is None
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    model = reload(out)
    assert changed(model)  # trained
    saved = load_settings(out / SAVED_CONFIG, "sft")
    assert saved.max_steps == 2 and saved.model == "tiny-random"

    # what `reasonrm judge --engine transformers --model OUT` loads
    from reasonrm.engines.transformers import TransformersEngine
    from reasonrm.types import SamplingParams

    engine = TransformersEngine(str(out), dtype="float32")
    try:
        chat = [{"role": "user", "content": "Hi"}]
        (samples,) = engine.generate([chat], SamplingParams(max_tokens=3, temperature=0))
        assert samples[0].completion_tokens <= 3
    finally:
        engine.close()


def test_sft_lora_saves_merged_model_and_adapter(data, tmp_path):
    out = tmp_path / "lora"
    s = settings("sft", data / "sft.jsonl", out, "lora.r=4", "lora.target_modules=[q_proj,v_proj]")
    result = run_sft(s, cuda=False)
    assert result.global_step == 2
    assert (out / "adapter" / "adapter_config.json").is_file()
    model = reload(out)
    assert not any("lora" in n for n, _ in model.named_parameters())  # merged
    moved = changed(model)
    assert moved and all("q_proj" in n or "v_proj" in n for n in moved)


def test_grpo_run_prompts_with_the_judge_chat_and_rewards_the_label(data, tmp_path):
    seen = []

    def length_bonus(prompts, completions, **kwargs):
        """A second reward with spread, so the group advantages are not all zero."""
        seen.append((prompts, kwargs["label"]))
        return [len(text_of(c)) / 100 for c in completions]

    from reasonrm.training.grpo import grpo_rows

    out = tmp_path / "grpo"
    s = settings("grpo", data / "prepared", out)
    result = run_grpo(s, cuda=False, extra_rewards=[length_bonus])
    assert result.global_step == 2 and result.rows == 8  # 4 pairs in both orders
    rows = {json.dumps(r["prompt"]): (r["label"], r["pair"]) for r in grpo_rows(s)}
    assert len(seen) == 2
    for prompts, labels in seen:
        assert len(prompts) == 4  # 2 prompts × 2 generations a step
        for prompt, label in zip(prompts, labels, strict=True):
            assert rows[json.dumps(prompt)][0] == label  # the rendered judge chat and its label
            assert (
                prompt[0]["role"] == "system" and "## Assistant responses" in prompt[1]["content"]
            )
        # each step holds both orders of one pair
        assert {rows[json.dumps(p)][1] for p in prompts} == {rows[json.dumps(prompts[0])][1]}
        assert sorted(labels) == ["A", "A", "B", "B"]
    logged = [h for h in result.log_history if "rewards/consistent_verdict_rrm/mean" in h]
    assert len(logged) == 2  # random model: no verdict, so no consistency either
    assert all(h["rewards/consistent_verdict_rrm/mean"] == -1.0 for h in logged)
    assert all(h["rewards/both_order_agreement/mean"] == 0.0 for h in logged)
    assert changed(reload(out))


def test_sft_reads_both_orders_of_a_pair_together(data, tmp_path):
    from reasonrm.training.sft import sft_rows

    s = settings("sft", data / "sft.jsonl", tmp_path / "s")
    chats = sft_rows(s)
    rows = [json.loads(line) for line in (data / "sft.jsonl").read_text().splitlines()]
    pair_of_chat = {json.dumps(r["messages"]): r["pair"] for r in rows}
    pairs = [pair_of_chat[json.dumps(c)] for c in chats]
    assert len(pairs) == 8 and all(pairs[i] == pairs[i + 1] for i in range(0, 8, 2))
    assert len(set(pairs)) == 4
    # the pair order is a seeded shuffle, not the file's
    assert sft_rows(settings("sft", data / "sft.jsonl", tmp_path / "s", "seed=3")) != chats


def test_grpo_resumes_from_the_latest_checkpoint(data, tmp_path):
    out = tmp_path / "resume"
    first = run_grpo(settings("grpo", data / "prepared", out, "max_steps=1", "save_steps=1"), False)
    assert first.global_step == 1 and (out / "checkpoint-1").is_dir()
    second = run_grpo(
        settings("grpo", data / "prepared", out, "max_steps=2", "save_steps=1"), False
    )
    assert second.resumed_from is not None and second.resumed_from.name == "checkpoint-1"
    assert second.global_step == 2 and second.steps_this_run == 1
    steps = [h["step"] for h in second.log_history if "loss" in h]
    assert steps == [1, 2]  # the history continues from the checkpoint's
    assert (out / "checkpoint-2").is_dir()
    # the total time spans both runs: the first run's seconds come from its checkpoint
    saved = json.loads((out / "checkpoint-1" / WALL_CLOCK).read_text())
    assert saved["step"] == 1 and 0 < saved["seconds"] <= first.seconds
    assert first.total_seconds == first.seconds
    assert second.total_seconds == pytest.approx(saved["seconds"] + second.seconds)
    last = json.loads((out / "checkpoint-2" / WALL_CLOCK).read_text())["seconds"]
    assert saved["seconds"] < last <= second.total_seconds


def test_a_checkpoint_without_a_time_record_leaves_the_total_unknown(data, tmp_path):
    out = tmp_path / "resume"
    run_grpo(settings("grpo", data / "prepared", out, "max_steps=1", "save_steps=1"), False)
    (out / "checkpoint-1" / WALL_CLOCK).unlink()  # as an older version saved it
    second = run_grpo(settings("grpo", data / "prepared", out, "max_steps=2"), False)
    assert second.resumed_from is not None and second.total_seconds is None
    assert second.to_dict()["total_seconds"] is None


def test_cli_runs_the_smoke_config(tmp_path):
    out = tmp_path / "cli"
    args = ["train", "sft", "--config", "configs/cpu-smoke-sft.yaml", "--set", f"output_dir={out}"]
    result = CliRunner().invoke(app, args + ["--set", "max_steps=1", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["global_step"] == 1 and shown["output_dir"] == str(out) and shown["rows"] == 16
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()


def test_data_for_the_wrong_stage_is_a_clear_error(data, tmp_path):
    with pytest.raises(InputError, match="last message must be the assistant's"):
        run_sft(settings("sft", data / "prepared", tmp_path / "a"), cuda=False)
    with pytest.raises(InputError, match="must end with the user's turn"):
        run_grpo(settings("grpo", data / "sft.jsonl", tmp_path / "b"), cuda=False)
    with pytest.raises(InputError, match="no such file"):
        run_sft(settings("sft", tmp_path / "none", tmp_path / "c"), cuda=False)


def test_long_rows_are_dropped_not_truncated(data, tmp_path):
    with pytest.raises(InputError, match="every row is longer than max_length"):
        run_sft(settings("sft", data / "sft.jsonl", tmp_path / "a", "max_length=16"), cuda=False)


def test_assistant_only_loss_needs_a_template_trl_supports(data, tmp_path):
    s = settings("sft", data / "sft.jsonl", tmp_path / "a", "loss=assistant")
    with pytest.raises(InputError, match="loss: assistant needs a chat template"):
        run_sft(s, cuda=False)


def test_label_only_sft_trains_on_the_protocols_bare_verdict(data, tmp_path):
    from reasonrm.protocols import get_protocol
    from reasonrm.training.sft import sft_rows

    s = settings("sft", data / "prepared", tmp_path / "v", "target=verdict")
    chats = sft_rows(s)
    rrm = get_protocol("rrm")  # the protocol the data was prepared with (its stats.json)
    prepared = [json.loads(x) for x in (data / "prepared" / "train.jsonl").read_text().splitlines()]
    label_of = {json.dumps(r["messages"]): r["label"] for r in prepared}
    assert len(chats) == 8
    for chat in chats:
        label = label_of[json.dumps(chat[:-1])]
        assert chat[-1] == {"role": "assistant", "content": rrm.verdict_text(label)}
        assert rrm.parse(chat[-1]["content"]).winner == label
    result = run_sft(s, cuda=False)
    assert result.global_step == 2 and result.rows == 8 and changed(reload(tmp_path / "v"))
    with pytest.raises(InputError, match="rendered with the 'rrm' protocol"):
        sft_rows(
            settings("sft", data / "prepared", tmp_path / "w", "target=verdict", "protocol=direct")
        )
    with pytest.raises(InputError, match="already has an answer"):
        sft_rows(
            settings("sft", data / "sft.jsonl", tmp_path / "x", "target=verdict", "protocol=rrm")
        )


def test_label_target_trains_on_the_label_and_what_closes_the_verdict(data, tmp_path):
    from reasonrm.protocols import get_protocol
    from reasonrm.training.sft import make_trainer

    s = settings("sft", data / "prepared", tmp_path / "l", "target=label")
    trainer, tokenizer, rows = make_trainer(s, cuda=False)
    assert rows == 8
    labels = get_protocol("rrm").labels
    prepared = [json.loads(x) for x in (data / "prepared" / "train.jsonl").read_text().splitlines()]
    seen = set()
    for example in trainer.train_dataset:
        ids = example["input_ids"]
        mask = [int(label != -100) for label in example["labels"]]  # TRL masks the prompt
        trained = [tokenizer.decode([t]) for t, m in zip(ids, mask, strict=True) if m]
        assert trained[1:] == ["}", tokenizer.eos_token]  # no format tokens, one end of turn
        assert trained[0] in labels
        before = tokenizer.decode(ids[: mask.index(1)])
        assert before.endswith("\\boxed{Assistant ")
        row = next(r for r in prepared if r["messages"][-1]["content"] in before)
        assert trained[0] == labels["AB".index(row["label"])]
        seen.add(trained[0])
    assert seen == set(labels)  # both orders: both labels are trained
    result = run_sft(s, cuda=False)
    assert result.global_step == 2 and changed(reload(tmp_path / "l"))
    with pytest.raises(InputError, match="set loss: completion"):
        settings("sft", data / "prepared", tmp_path / "m", "target=label", "loss=all")


def test_grpo_prefill_rolls_out_after_the_verdict_opening(data, tmp_path):
    """prefill: each prompt is the template's text ending with `\\boxed{Assistant `, and the
    verdict reward reads opening + completion, so a bare "1}" is a valid verdict."""
    from reasonrm.training.grpo import grpo_rows, make_trainer, reward_functions, with_opening

    s = settings("grpo", data / "prepared", tmp_path / "g", "prefill=true", "consistency=false")
    trainer, tokenizer, rows = make_trainer(s, cuda=False)
    prompts = [r["prompt"] for r in trainer.train_dataset]
    assert rows == 8 and all(isinstance(p, str) for p in prompts)
    assert all(p.endswith("<|im_start|>assistant\n\\boxed{Assistant ") for p in prompts)
    assert all("## Assistant responses" in p for p in prompts)

    plain = grpo_rows(s)
    rows_read, (reward,) = with_opening(plain, reward_functions(s)[0], s, tokenizer)
    labels = [r["label"] for r in rows_read]
    bare = ["1}" if label == "A" else "2}" for label in labels]
    assert reward(prompts=prompts, completions=bare, label=labels) == [1.0] * 8
    wrong = ["2}" if label == "A" else "1}" for label in labels]
    assert reward(prompts=prompts, completions=wrong, label=labels) == [-1.0] * 8
    assert reward.__name__ == "verdict_rrm"

    result = run_grpo(s, cuda=False)  # trains: TRL accepts the text prompts
    assert result.global_step == 2
