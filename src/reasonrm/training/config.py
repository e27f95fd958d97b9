"""Training run settings (`reasonrm train sft|grpo --config FILE`): the fields, YAML
loading with `--set` overrides, and the dump saved next to a trained model. What the
trainers do with them lives beside: `trl_args` (TRL's config), `checkpoints` (models),
`chats` (the data files), `run` (resuming and saving).

A config is a YAML mapping of the fields below; an unknown field is an error naming the field
and the file. Any field can be overridden from the command line with `--set key=value`:
dotted keys reach nested fields (`--set lora.r=8`), values are read as YAML scalars
(`--set max_steps=2`, `--set lora=null`, `--set bf16=false`, `--set learning_rate=1e-6`),
and `--set` replaces a whole list or mapping when given one (`--set report_to=[wandb]`).
Relative paths resolve against the current directory, not the config file's.

Fields shared by both stages (`TrainSettings`):

    stage            "sft" or "grpo": optional; a file for the other stage is refused
    model            checkpoint folder, .gguf file, registry name (smollm2-135m), hub id, or
                     "tiny-random": a 2-layer, hidden-64 random Llama with SmolLM2's tokenizer
                     and chat template (for smoke tests; seeded by `seed`)
    data             a folder holding train.jsonl, or a .jsonl file
    max_rows         train on the first N rows only
    output_dir       checkpoints go to output_dir/checkpoint-N, the final model to output_dir
    lora             null (full fine-tuning) or {r, alpha, dropout, target_modules, merge};
                     merge (default true) saves the merged model in output_dir, which any
                     transformers loader reads, and the adapter in output_dir/adapter
    learning_rate, lr_scheduler, warmup (steps, or a fraction of all steps when below 1),
    weight_decay, max_grad_norm
    epochs           passes over the data; `max_steps` (optimizer steps) wins when set
    per_device_batch_size, gradient_accumulation, gradient_checkpointing
    seed, save_steps, save_total_limit, logging_steps, report_to ("none", "wandb", ...), run_name
    bf16             null: on when a CUDA GPU supports it. Forced off on a CPU
    dtype            weights as loaded: auto (bfloat16 with bf16, else float32), float32, bfloat16
    resume           true: continue from the latest output_dir/checkpoint-N when there is one
    both_orders      true (default): every batch holds both orders of each pair it holds
                     (rows need `pair` and `label`, as `data prepare` writes them; see
                     `reasonrm.training.both_orders`); false: rows shuffled one by one
    trl              extra TRL config arguments, passed as they are (checked against TRL's
                     field names): the escape hatch for everything not listed here

SFT (`SFTSettings`): `max_length` (rows with more tokens are dropped and counted: truncating
would cut the verdict off), `loss` (below), `packing`, `target`: "answer" (default: each row
ends with the assistant message to learn, as `distill` writes them) or "verdict" (label-only
training, RRM's and DirectJudge's way: rows from `data prepare`, the judge chat and its
label, and the target is the protocol's bare verdict for the label, `\boxed{Assistant 1}`
for rrm and direct), or "label" (the same verdict, with everything before its label moved
into the prompt, so the loss falls on the label and what closes the verdict: with "verdict"
the label is 1 of 11 trained tokens and the format, learned in a few steps, dominates the
optimizer's memory; needs `loss: completion`); `protocol` (for "verdict" and "label": the
protocol whose verdict to write; by default the one the data was prepared with, from its
stats.json). GRPO (`GRPOSettings`):
`num_generations`, `max_completion_length`, `temperature`, `top_p`, `beta` (KL weight),
`protocol`, `strict`, `format_weight` (the verdict reward's rule), `consistency` (true, the
default: a verdict earns +1 only when the pair's other order is right too; see
`reasonrm.rewards.consistency`), `prefill` (false; true for a `target: label` student:
each rollout starts after the protocol's verdict opening, as that student was trained, and
the reward reads the opening and the completion together), `use_vllm` (CUDA only),
`vllm_mode`, `vllm_gpu_memory_utilization`.

`loss` for SFT: "completion" (default) trains on the final assistant message only: each
row's messages are split into a prompt (all but the last) and a completion, which TRL
masks with any chat template. "assistant" is TRL's `assistant_only_loss`: every assistant
turn, but only with a chat template that has `{% generation %}` markers or that TRL 1.16
can patch (Qwen2.5, Qwen3, Llama 3, DeepSeek-R1-distill, Gemma, Phi-3 and a few others;
not SmolLM2's). "all" trains on every token.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reasonrm.errors import InputError

log = logging.getLogger(__name__)

TINY_RANDOM = "tiny-random"
SAVED_CONFIG = "reasonrm-train.yaml"  # the resolved settings, written next to the model

Stage = Literal["sft", "grpo"]


# --- settings -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraSettings(_Strict):
    r: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"
    merge: bool = True


class TrainSettings(_Strict):
    stage: Stage | None = None
    model: str
    data: str
    max_rows: int | None = Field(None, ge=1)
    output_dir: str
    lora: LoraSettings | None = None
    learning_rate: float = Field(gt=0)
    lr_scheduler: str = "linear"
    warmup: float = Field(0, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    per_device_batch_size: int = Field(1, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    gradient_checkpointing: bool = False
    seed: int = 0
    save_steps: int = Field(100, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    logging_steps: int = Field(10, ge=1)
    report_to: str | list[str] = "none"
    run_name: str | None = None
    bf16: bool | None = None
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    resume: bool = True
    both_orders: bool = True
    trl: dict[str, Any] = Field(default_factory=dict)

    STAGE: ClassVar[str] = "sft"

    def data_file(self) -> Path:
        path = Path(self.data).expanduser()
        if path.is_dir():
            path = path / "train.jsonl"
        if not path.is_file():
            raise InputError(
                f"data: no such file {path} (give a folder from `reasonrm data prepare`, "
                "which holds train.jsonl, or a .jsonl file)"
            )
        return path


class SFTSettings(TrainSettings):
    learning_rate: float = Field(2e-5, gt=0)
    per_device_batch_size: int = Field(2, ge=1)  # both orders of a pair
    max_length: int = Field(4096, ge=8)
    loss: Literal["completion", "assistant", "all"] = "completion"
    packing: bool = False
    target: Literal["answer", "verdict", "label"] = "answer"
    protocol: str | None = None

    STAGE: ClassVar[str] = "sft"

    @model_validator(mode="after")
    def _label_needs_a_completion(self) -> SFTSettings:
        if self.target == "label" and self.loss != "completion":
            raise ValueError(
                "target: label trains on what follows the verdict's label position, a "
                f"completion: set loss: completion (not {self.loss!r})"
            )
        return self

    @model_validator(mode="after")
    def _whole_pairs(self) -> SFTSettings:
        if not self.both_orders:
            return self
        if self.packing:
            raise ValueError(
                "packing mixes rows across batches, so a batch cannot be kept to both orders "
                "of its pairs: set packing: false or both_orders: false"
            )
        world = _world_size()
        rows = self.per_device_batch_size * self.gradient_accumulation * world
        if rows % 2:
            procs = f" × {world} processes" if world > 1 else ""
            raise ValueError(
                f"per_device_batch_size ({self.per_device_batch_size}) × gradient_accumulation "
                f"({self.gradient_accumulation}){procs} = {rows} rows a step, which cannot hold "
                "both orders of each pair: make it even, or set both_orders: false"
            )
        return self


class GRPOSettings(TrainSettings):
    learning_rate: float = Field(1e-6, gt=0)
    per_device_batch_size: int = Field(16, ge=1)  # both orders of a pair × 8 generations
    num_generations: int = Field(8, ge=2)
    max_completion_length: int = Field(1024, ge=1)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    beta: float = Field(0.0, ge=0)
    protocol: str = "rrm"
    strict: bool = False
    format_weight: float = Field(0.0, ge=0)
    consistency: bool = True
    prefill: bool = False
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0, le=1)

    STAGE: ClassVar[str] = "grpo"

    @model_validator(mode="after")
    def _divisible(self) -> GRPOSettings:
        world = _world_size()
        batch = self.per_device_batch_size * self.gradient_accumulation * world
        if batch % self.num_generations:
            procs = f" × {world} processes" if world > 1 else ""
            raise ValueError(
                f"per_device_batch_size ({self.per_device_batch_size}) × gradient_accumulation "
                f"({self.gradient_accumulation}){procs} = {batch} completions per step, which is "
                f"not divisible by num_generations ({self.num_generations}): each prompt's "
                "group of completions must fit whole in a step"
            )
        if self.consistency and not self.both_orders:
            raise ValueError(
                "consistency rewards a verdict by the pair's other order, so it needs "
                "both_orders: true (or set consistency: false)"
            )
        if self.both_orders:
            self._whole_pairs_per_process()
        if self.prefill:
            self._protocol_has_an_opening()
        return self

    def _protocol_has_an_opening(self) -> None:
        """prefill starts each rollout with the protocol's fixed verdict opening: refuse
        one without it before a model is loaded."""
        from reasonrm.protocols import get_protocol

        problem = get_protocol(self.protocol).no_opening_for_prefill("prefill")
        if problem:
            raise ValueError(problem)

    def _whole_pairs_per_process(self) -> None:
        """Each process generates for and scores its own share of prompts: both orders of
        a pair must fall in the same share."""
        steps = self.trl.get("steps_per_generation") or self.gradient_accumulation
        completions = self.per_device_batch_size * steps
        prompts, rest = divmod(completions, self.num_generations)
        if rest or prompts % 2:
            raise ValueError(
                f"per_device_batch_size ({self.per_device_batch_size}) × steps per generation "
                f"({steps}) = {completions} completions each process generates at a time, "
                f"{completions / self.num_generations:g} prompts of num_generations "
                f"({self.num_generations}); with both_orders this must be an even number of "
                "prompts, so a process holds both orders of each pair: raise "
                "per_device_batch_size, or set both_orders: false"
            )

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, name: str) -> str:
        from reasonrm.errors import ReasonRMError
        from reasonrm.protocols import PROTOCOLS, get_protocol
        from reasonrm.protocols.template import looks_like_file

        if not looks_like_file(name) and name not in PROTOCOLS:
            raise ValueError(f"unknown protocol; choose one of: {', '.join(PROTOCOLS)}")
        try:
            get_protocol(name)  # a template file is read and checked now
        except ReasonRMError as e:
            raise ValueError(str(e)) from None
        return name


SETTINGS: dict[str, type[TrainSettings]] = {"sft": SFTSettings, "grpo": GRPOSettings}


def _world_size() -> int:
    """Processes in this run (accelerate and torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


# --- loading --------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-6 (no dot) as a string; read it as a float, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], the value read as YAML)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise InputError(f"--set {item!r}: expected key=value (e.g. --set max_steps=2)")
    try:
        value = yaml.load(raw, Loader=_Loader) if raw.strip() else None
    except yaml.YAMLError as e:
        raise InputError(f"--set {item!r}: the value is not valid YAML ({e})") from None
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> set[str]:
    """Apply `--set` items in place; returns the top-level keys they touched."""
    touched = set()
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise InputError(f"--set {item!r}: {where} is {child!r}, not a mapping")
            node = child
        node[path[-1]] = value
        touched.add(path[0])
    return touched


# what TRL, transformers or other trainers call some fields, for "did you mean"
ALIASES = {
    "lr": "learning_rate",
    "num_train_epochs": "epochs",
    "lr_scheduler_type": "lr_scheduler",
    "warmup_steps": "warmup",
    "warmup_ratio": "warmup",
    "batch_size": "per_device_batch_size",
    "per_device_train_batch_size": "per_device_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation",
    "kl_coef": "beta",
    "kl": "beta",
    "max_seq_length": "max_length",
    "max_new_tokens": "max_completion_length",
    "num_samples": "num_generations",
    "resume_from_checkpoint": "resume",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
}


def _describe(error: dict[str, Any], model: type[BaseModel], source: str, touched: set) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    origin = " (from --set)" if error["loc"] and error["loc"][0] in touched else ""
    if error["type"] == "extra_forbidden":
        owner: Any = model
        for part in error["loc"][:-1]:
            annotation = owner.model_fields[part].annotation if owner else None
            owner = next(
                (a for a in getattr(annotation, "__args__", (annotation,)) if _is_model(a)),
                None,
            )
        names = list(owner.model_fields if owner else ())
        name = str(error["loc"][-1])
        close = [ALIASES[name]] if ALIASES.get(name) in names else []
        close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.7)
        hint = f"did you mean '{close[0]}'?" if close else f"known fields: {', '.join(names)}"
        return f"{source}: unknown field '{loc}'{origin}; {hint}"
    if not error["loc"]:  # a model-level check
        return f"{source}: {error['msg'].removeprefix('Value error, ')}{origin}"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{source}: field '{loc}'{origin}: {msg} (got {error.get('input')!r})"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def load_settings(
    path: str | Path | None, stage: Stage, overrides: list[str] | None = None
) -> TrainSettings:
    """The settings of one stage from a YAML file (None: overrides only) and `--set` items.
    Any mistake is an InputError naming the file, the field and what is wrong."""
    data: dict[str, Any] = {}
    source = "--set"
    if path is not None:
        source = str(path)
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(f"no such config file: {file}")
        try:
            loaded = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)
        except yaml.YAMLError as e:
            raise InputError(f"{file}: not valid YAML ({e})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(f"{file}: expected a mapping of field: value")
        data = loaded or {}
    touched = apply_overrides(data, overrides or [])
    declared = data.get("stage")
    if declared is not None and declared != stage:
        raise InputError(
            f"{source}: this config is for `reasonrm train {declared}`, not `train {stage}`"
        )
    model = SETTINGS[stage]
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = [_describe(err, model, source, touched) for err in e.errors()]
        raise InputError("; ".join(problems)) from None


def dump_settings(settings: TrainSettings) -> str:
    return yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False)
