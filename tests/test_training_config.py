"""Training settings: YAML files, `--set` overrides, clear errors, and the TRL arguments
every shipped config builds (GPU ones too, without running them)."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reasonrm.cli import app
from reasonrm.errors import InputError
from reasonrm.training.config import (
    GRPOSettings,
    SFTSettings,
    apply_overrides,
    load_settings,
    parse_override,
)
from reasonrm.training.trl_args import build_trl_args, trl_kwargs

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
runner = CliRunner()

BASE = {"model": "tiny-random", "data": "d.jsonl", "output_dir": "out"}


def write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def stage_of(path: Path) -> str:
    return yaml.safe_load(path.read_text())["stage"]


# --- files and overrides ---------------------------------------------------------------


def test_loads_a_file_with_overrides(tmp_path):
    path = write(tmp_path, {**BASE, "stage": "grpo", "lora": None, "num_generations": 4})
    s = load_settings(
        path,
        "grpo",
        ["max_steps=3", "lora.r=8", "learning_rate=1e-6", "report_to=[wandb]", "beta=0.04"],
    )
    assert isinstance(s, GRPOSettings)
    assert s.max_steps == 3 and s.learning_rate == 1e-6 and s.beta == 0.04
    assert s.lora is not None and s.lora.r == 8 and s.lora.alpha == 32  # defaults filled
    assert s.report_to == ["wandb"]
    assert load_settings(path, "grpo", ["lora.r=8", "lora=null"]).lora is None


def test_yaml_reads_exponents_without_a_dot_as_floats(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "model: m\ndata: d\noutput_dir: o\nlearning_rate: 1e-6\ntrl: {adam_epsilon: 1e-7}\n"
    )
    s = load_settings(path, "sft")
    assert s.learning_rate == 1e-6 and s.trl == {"adam_epsilon": 1e-7}


def test_parse_override():
    assert parse_override("a.b=1") == (["a", "b"], 1)
    assert parse_override("x=") == (["x"], None)
    assert parse_override("x=hello world") == (["x"], "hello world")
    for bad in ("max_steps", "=3", "a..b=1", "x=[1,"):
        with pytest.raises(InputError, match="--set"):
            parse_override(bad)


def test_override_into_a_scalar_is_an_error():
    with pytest.raises(InputError, match="model is 'm', not a mapping"):
        apply_overrides({"model": "m"}, ["model.name=x"])


def test_unknown_field_names_the_field_and_file(tmp_path):
    path = write(tmp_path, {**BASE, "lr": 1e-5})
    with pytest.raises(InputError) as e:
        load_settings(path, "sft")
    msg = str(e.value)
    assert (
        str(path) in msg and "unknown field 'lr'" in msg and "did you mean 'learning_rate'" in msg
    )


def test_unknown_nested_field_and_set_origin(tmp_path):
    path = write(tmp_path, BASE)
    with pytest.raises(InputError) as e:
        load_settings(path, "sft", ["lora.rank=8"])
    msg = str(e.value)
    assert "unknown field 'lora.rank' (from --set)" in msg and "target_modules" in msg


def test_bad_value_names_the_field(tmp_path):
    path = write(tmp_path, BASE)
    with pytest.raises(InputError, match=r"field 'max_steps' \(from --set\).*'abc'"):
        load_settings(path, "sft", ["max_steps=abc"])
    with pytest.raises(InputError, match="field 'loss'"):
        load_settings(path, "sft", ["loss=everything"])
    with pytest.raises(InputError, match="field 'learning_rate'"):
        load_settings(path, "sft", ["learning_rate=-1"])


def test_missing_required_field(tmp_path):
    path = write(tmp_path, {"model": "m", "data": "d"})
    with pytest.raises(InputError, match="field 'output_dir'.*required"):
        load_settings(path, "sft")


def test_indivisible_grpo_batch_is_explained(tmp_path):
    path = write(tmp_path, {**BASE, "num_generations": 4, "per_device_batch_size": 3})
    with pytest.raises(InputError) as e:
        load_settings(path, "grpo")
    msg = str(e.value)
    assert "per_device_batch_size (3) × gradient_accumulation (1) = 3" in msg
    assert "not divisible by num_generations (4)" in msg
    # 3 × 8 = 24 divides by 4, into 6 prompts: both orders of 3 pairs
    assert load_settings(path, "grpo", ["gradient_accumulation=8"]).num_generations == 4


def test_both_orders_need_whole_pairs_in_each_batch(tmp_path, monkeypatch):
    # GRPO: 3 × 4 = 12 completions are 3 prompts of 4 generations: one pair's order is cut off
    path = write(tmp_path, {**BASE, "num_generations": 4, "per_device_batch_size": 3})
    with pytest.raises(InputError, match="3 prompts of num_generations.*even number of prompts"):
        load_settings(path, "grpo", ["gradient_accumulation=4"])
    assert not load_settings(
        path, "grpo", ["gradient_accumulation=4", "both_orders=false", "consistency=false"]
    ).both_orders
    with pytest.raises(InputError, match="consistency.*needs both_orders: true"):
        load_settings(path, "grpo", ["gradient_accumulation=4", "both_orders=false"])
    # SFT: rows a step, over every process
    sft = write(
        tmp_path, {**BASE, "per_device_batch_size": 1, "gradient_accumulation": 3}, "s.yaml"
    )
    with pytest.raises(InputError, match="= 3 rows a step, which cannot hold both orders"):
        load_settings(sft, "sft")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert load_settings(sft, "sft").gradient_accumulation == 3
    with pytest.raises(InputError, match="packing mixes rows"):
        load_settings(sft, "sft", ["packing=true"])


def test_world_size_counts_in_the_grpo_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    path = write(
        tmp_path,
        {
            **BASE,
            "num_generations": 4,
            "per_device_batch_size": 2,
            "both_orders": False,
            "consistency": False,
        },
    )
    assert load_settings(path, "grpo").per_device_batch_size == 2
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(InputError, match="× 3 processes = 6"):
        load_settings(path, "grpo")


def test_unknown_protocol_and_wrong_stage(tmp_path):
    path = write(tmp_path, {**BASE, "stage": "grpo"})
    with pytest.raises(InputError, match="unknown protocol; choose one of: rrm"):
        load_settings(path, "grpo", ["protocol=nope"])
    with pytest.raises(InputError, match="for `reasonrm train grpo`, not `train sft`"):
        load_settings(path, "sft")


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        load_settings(tmp_path / "none.yaml", "sft")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_settings(bad, "sft")
    bad.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_settings(bad, "sft")


# --- TRL arguments ---------------------------------------------------------------------


def test_cpu_arguments(tmp_path):
    s = load_settings(write(tmp_path, BASE), "grpo", ["bf16=true", "num_generations=2"])
    kw = trl_kwargs(s, cuda=False)
    assert kw["use_cpu"] is True and kw["bf16"] is False  # bf16 turned off on a CPU
    assert kw["num_generations"] == 2 and kw["per_device_train_batch_size"] == 16
    assert kw["max_steps"] == -1 and kw["report_to"] == "none"
    args = build_trl_args(s, cuda=False)
    assert type(args).__name__ == "GRPOConfig" and args.num_generations == 2
    assert not args.gradient_checkpointing  # TRL's default is on; ours is off unless asked


def test_grpo_reference_model_is_loaded_without_hub_kernels(tmp_path):
    """TRL builds the reference model from model_init_kwargs; transformers 5 would swap in
    kernels from the Hub on a GPU, which failed an offline H200 run at its first step."""
    path = write(tmp_path, BASE)
    args = build_trl_args(load_settings(path, "grpo", ["beta=0.04"]), cuda=False)
    assert args.model_init_kwargs == {"use_kernels": False}
    assert "model_init_kwargs" not in trl_kwargs(load_settings(path, "grpo", ["beta=0"]))
    own = load_settings(
        path, "grpo", ["beta=0.04", "trl.model_init_kwargs.attn_implementation=sdpa"]
    )
    assert build_trl_args(own, cuda=False).model_init_kwargs == {
        "use_kernels": False,
        "attn_implementation": "sdpa",
    }


def test_sft_loss_modes_map_to_trl(tmp_path):
    path = write(tmp_path, BASE)
    for loss, assistant, completion in (
        ("completion", False, True),
        ("assistant", True, False),
        ("all", False, False),
    ):
        kw = trl_kwargs(load_settings(path, "sft", [f"loss={loss}"]), cuda=False)
        assert (kw["assistant_only_loss"], kw["completion_only_loss"]) == (assistant, completion)


def test_use_vllm_needs_cuda(tmp_path):
    s = load_settings(write(tmp_path, BASE), "grpo", ["use_vllm=true"])
    with pytest.raises(InputError, match="use_vllm needs a CUDA GPU"):
        trl_kwargs(s, cuda=False)
    kw = trl_kwargs(s, cuda=True)
    assert kw["use_vllm"] is True and kw["vllm_mode"] == "colocate" and kw["use_cpu"] is False


def test_trl_passthrough_is_checked(tmp_path):
    path = write(tmp_path, BASE)
    s = load_settings(path, "sft", ["trl.adam_beta2=0.95"])
    assert build_trl_args(s, cuda=False).adam_beta2 == 0.95
    with pytest.raises(InputError, match="SFTConfig has no field"):
        build_trl_args(load_settings(path, "sft", ["trl.not_a_field=1"]), cuda=False)
    with pytest.raises(InputError, match="learning_rate set here would override"):
        build_trl_args(load_settings(path, "sft", ["trl.learning_rate=1"]), cuda=False)


def config_files():
    return sorted(p for p in CONFIGS.glob("*.yaml") if "stage" in (yaml.safe_load(p.read_text())))


def test_configs_folder_is_complete_and_documented():
    names = {p.name for p in CONFIGS.iterdir() if p.is_file()}
    expected = {
        "cpu-smoke-sft.yaml",
        "cpu-smoke-grpo.yaml",
        "cpu-smollm2-sft.yaml",
        "cpu-smollm2-grpo.yaml",
        "gpu-7b-sft.yaml",
        "gpu-7b-grpo.yaml",
        "accelerate-zero3.yaml",
        "deepspeed-zero3.json",
        "README.md",
    }
    assert expected <= names
    readme = (CONFIGS / "README.md").read_text()
    for name in expected - {"README.md"}:
        assert f"`{name}`" in readme, name
    assert len(config_files()) == 8


@pytest.mark.parametrize("path", config_files(), ids=lambda p: p.name)
def test_every_config_loads_and_builds_trl_arguments(path):
    stage = stage_of(path)
    settings = load_settings(path, stage)
    assert isinstance(settings, SFTSettings if stage == "sft" else GRPOSettings)
    gpu = path.name.startswith("gpu-")
    if gpu:
        from trl import GRPOConfig, SFTConfig

        fields = (GRPOConfig if stage == "grpo" else SFTConfig).__dataclass_fields__
        kw = trl_kwargs(settings, cuda=True)
        assert set(kw) <= set(fields)
        assert kw["bf16"] is True and settings.lora is None and settings.gradient_checkpointing
        if stage == "grpo":
            assert kw["use_vllm"] is True
        # the same settings build real TRL arguments on this CPU once the GPU-only parts are off
        off = ["bf16=false", "use_vllm=false"] if stage == "grpo" else ["bf16=false"]
        settings = load_settings(path, stage, off)
    args = build_trl_args(settings, cuda=False)
    assert args.output_dir == settings.output_dir and args.learning_rate == settings.learning_rate
    assert args.use_cpu is True and args.bf16 is False
    if stage == "grpo":
        assert args.num_generations == settings.num_generations


def test_deepspeed_and_accelerate_configs_agree():
    accel = yaml.safe_load((CONFIGS / "accelerate-zero3.yaml").read_text())
    assert accel["distributed_type"] == "DEEPSPEED"
    ds_path = Path(accel["deepspeed_config"]["deepspeed_config_file"])
    assert ds_path.parts[0] == "configs" and (CONFIGS / ds_path.name).is_file()
    ds = json.loads((CONFIGS / ds_path.name).read_text())
    assert ds["zero_optimization"]["stage"] == 3
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert ds["bf16"]["enabled"] == "auto" and ds["train_micro_batch_size_per_gpu"] == "auto"


def test_smoke_data_matches_the_configs():
    grpo = load_settings(CONFIGS / "cpu-smoke-grpo.yaml", "grpo")
    sft = load_settings(CONFIGS / "cpu-smoke-sft.yaml", "sft")
    root = CONFIGS.parent
    rows = [json.loads(x) for x in (root / grpo.data / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and [r["label"] for r in rows] == ["A", "B"] * 8  # 8 pairs
    assert len({r["pair"] for r in rows}) == 8
    chats = [json.loads(x) for x in (root / sft.data).read_text().splitlines()]
    for row, chat in zip(rows, chats, strict=True):
        assert chat["messages"][:-1] == row["messages"]
        assert (chat["pair"], chat["label"]) == (row["pair"], row["label"])
        slot = "1" if row["label"] == "A" else "2"
        assert chat["messages"][-1]["content"].endswith(f"\\boxed{{Assistant {slot}}}")


# --- the command line ------------------------------------------------------------------


def test_cli_errors_are_one_line(tmp_path):
    path = write(tmp_path, BASE)
    result = runner.invoke(app, ["train", "sft", "--config", str(path), "--set", "lr=1"])
    assert result.exit_code == 2
    assert "error:" in result.stderr and "unknown field 'lr'" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["train", "grpo", "--config", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2 and "no such config file" in result.stderr


def test_cli_dry_run_prints_settings_and_trl_arguments():
    path = CONFIGS / "cpu-smoke-grpo.yaml"
    args = ["train", "grpo", "--config", str(path), "--set", "max_steps=7", "--dry-run", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["settings"]["max_steps"] == 7 and shown["GRPOConfig"]["max_steps"] == 7
    assert shown["GRPOConfig"]["num_generations"] == 4 and shown["GRPOConfig"]["use_cpu"] is True


@pytest.mark.parametrize("name", ["gpu-7b-sft.yaml", "gpu-7b-grpo.yaml"])
def test_gpu_configs_dry_run_builds_what_a_gpu_run_builds(name):
    stage = stage_of(CONFIGS / name)
    args = ["train", stage, "--config", str(CONFIGS / name), "--dry-run", "--json"]
    accel = ["--accelerate-config", str(CONFIGS / "accelerate-zero3.yaml")]
    result = runner.invoke(app, args + accel)
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    trl = done["GRPOConfig" if stage == "grpo" else "SFTConfig"]
    assert trl["bf16"] is True and trl["use_cpu"] is False  # as on the GPU machine
    assert done["processes"] == 8
    assert done["accelerate"] == {
        "distributed_type": "DEEPSPEED",
        "num_processes": 8,
        "num_machines": 1,
        "zero_stage": 3,
    }
    assert any("no CUDA GPU here" in note for note in done["notes"])
    if stage == "grpo":
        assert trl["use_vllm"] is True and trl["vllm_mode"] == "colocate"
        assert trl["num_generations"] == 8


def test_dry_run_refuses_what_the_gpu_run_would_refuse(tmp_path):
    ds = json.loads((CONFIGS / "deepspeed-zero3.json").read_text())
    ds["train_micro_batch_size_per_gpu"] = 2
    (tmp_path / "ds.json").write_text(json.dumps(ds))
    accel = yaml.safe_load((CONFIGS / "accelerate-zero3.yaml").read_text())
    accel["deepspeed_config"]["deepspeed_config_file"] = str(tmp_path / "ds.json")
    (tmp_path / "accel.yaml").write_text(yaml.safe_dump(accel))
    base = ["train", "grpo", "--config", str(CONFIGS / "gpu-7b-grpo.yaml"), "--dry-run"]
    result = runner.invoke(app, base + ["--accelerate-config", str(tmp_path / "accel.yaml")])
    assert result.exit_code == 2
    assert "train_micro_batch_size_per_gpu is 2, but the settings say 4" in result.output
    result = runner.invoke(app, base + ["--set", "trl.nope=1"])
    assert result.exit_code == 2 and "GRPOConfig has no field(s) nope" in result.output
    missing = runner.invoke(app, base + ["--accelerate-config", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "no such accelerate config" in missing.output


def test_grpo_prefill_needs_a_protocol_with_a_verdict_opening(tmp_path):
    path = write(tmp_path, BASE)
    assert load_settings(path, "grpo", ["prefill=true", "protocol=direct"]).prefill
    spec = {  # a user's template with a verdict pattern but no answer_prefix
        "user": "{question}\n\n1: {a}\n\n2: {b}",
        "verdict": {"pattern": r"\[\[([12])\]\]", "labels": {"1": "A", "2": "B"}},
    }
    template = tmp_path / "mine.yaml"
    template.write_text(yaml.safe_dump(spec))
    with pytest.raises(InputError, match="prefill.*protocol 'mine' declares none"):
        load_settings(path, "grpo", ["prefill=true", f"protocol={template}"])
    assert not load_settings(path, "grpo", [f"protocol={template}"]).prefill


def test_the_judge_command_after_training_names_the_protocol_and_the_score(tmp_path):
    """A label-trained student never writes the verdict's opening itself, so the line shown
    after training reads its label probability; a reasoning student is judged as usual."""
    from reasonrm.cli.train import judge_command

    data = tmp_path / "prepared-direct"
    data.mkdir()
    (data / "train.jsonl").write_text("{}\n")
    (data / "stats.json").write_text(json.dumps({"protocol": "direct"}))
    label = load_settings(CONFIGS / "cpu-smollm2-direct-sft.yaml", "sft", [f"data={data}"])
    assert judge_command(label, "runs/s") == (
        "reasonrm judge --model runs/s --protocol direct --score prob --prompt P --a A --b B"
    )
    grpo = load_settings(CONFIGS / "cpu-smollm2-grpo.yaml", "grpo", [])
    assert judge_command(grpo, "runs/g") == (
        "reasonrm judge --model runs/g --protocol rrm --prompt P --a A --b B"
    )
