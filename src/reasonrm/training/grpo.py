"""GRPO with the verifiable verdict reward (`reasonrm train grpo`): the RL stage of RM-R1
and RRM. The judge samples `num_generations` completions per training row; each earns +1
when its verdict names the labelled slot and -1 otherwise
(`reasonrm.rewards.make_verdict_reward`: `protocol`, `strict`, `format_weight`).

Input: rows from `reasonrm data prepare` (a folder holding train.jsonl, or the file). TRL
samples from its `prompt` column, so the rendered judge chat (`messages`) becomes `prompt`;
`label` ("A" or "B") is the column the reward reads, and `id` is kept for logs. The
original conversation, a and b are not needed (they are inside the rendered chat).

With `both_orders` (the default) each step holds both orders of every pair it holds (rows
in pair units, TRL's shuffling off) and, with `consistency` (the default), a completion
earns +1 only when the pair's other order is right by majority too (J1's rule); the
both-order agreement is logged as `rewards/both_order_agreement/mean`.

With `prefill` (a `target: label` student, which never learned to write the verdict's
opening) each prompt is the chat template's text followed by that opening, exactly as the
student was trained, and the reward reads the opening and the completion together.

Resumable: with `resume` (the default) a rerun continues from the latest
output_dir/checkpoint-N (optimizer, scheduler, RNG and step count included).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from typing import Any

from reasonrm.errors import InputError, MissingDependencyError
from reasonrm.rewards import (
    BothOrderAgreement,
    ConsistentVerdictReward,
    RewardRule,
    VerdictReward,
    check_label,
)
from reasonrm.training.both_orders import pair_units, unit_order
from reasonrm.training.chats import check_chat, read_data
from reasonrm.training.checkpoints import load_model, peft_config
from reasonrm.training.config import GRPOSettings
from reasonrm.training.run import TrainResult, train_and_save
from reasonrm.training.trl_args import build_trl_args

log = logging.getLogger(__name__)


def grpo_rows(settings: GRPOSettings) -> list[dict[str, Any]]:
    """{prompt: the judge chat, label, id (and pair)} per row, checked; with both_orders,
    in pair units (`reasonrm.training.both_orders`)."""
    _, rows = read_data(settings)
    if settings.both_orders:
        order = unit_order(pair_units(rows), settings.seed)
        rows = [rows[i] for i in order]
    out = []
    for i, (where, row) in enumerate(rows):
        if "messages" in row:
            chat = check_chat(row["messages"], where)
            if chat[-1]["role"] != "user":
                raise InputError(
                    f"{where}: the judge chat must end with the user's turn (the model writes "
                    "the reply); rows ending with an answer are SFT rows: use `train sft`"
                )
        missing = [k for k in ("messages", "label") if k not in row]
        if missing:
            raise InputError(
                f"{where}: missing field(s) {', '.join(missing)}; GRPO reads rows from "
                "`reasonrm data prepare` (messages: the judge chat, label: 'A' or 'B')"
            )
        try:
            label = check_label(row["label"], i)
        except InputError:
            raise InputError(f"{where}: label must be 'A' or 'B', got {row['label']!r}") from None
        out.append({"prompt": chat, "label": label, "id": str(row.get("id", i))})
        if settings.both_orders:
            out[-1]["pair"] = str(row["pair"])
    return out


def reward_functions(
    settings: GRPOSettings,
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """(the reward functions, their weights): the verdict reward (under the consistency rule
    when on) and, with it, the both-order agreement logged at weight 0."""
    rule = RewardRule.make(settings.protocol, settings.strict, settings.format_weight)
    if settings.consistency:
        return [ConsistentVerdictReward(rule), BothOrderAgreement(rule)], [1.0, 0.0]
    return [VerdictReward(rule)], [1.0]


def with_opening(
    rows: list[dict[str, Any]],
    rewards: list[Callable[..., list[float]]],
    settings: GRPOSettings,
    tokenizer: Any,
) -> tuple[list[dict[str, Any]], list[Callable[..., list[float]]]]:
    """`prefill`: each prompt as text ending with the protocol's verdict opening (the chat
    template's generation prompt, then `\\boxed{Assistant`, cut as evaluation sends it), and
    rewards that read the opening and the completion together."""
    from reasonrm.protocols import get_protocol
    from reasonrm.scoring import LabelReader

    tokenize = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    opening = LabelReader.opening(get_protocol(settings.protocol), tokenize)

    def text(chat: list[dict[str, str]]) -> str:
        rendered = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return rendered + opening

    def reading_the_opening(reward: Callable[..., list[float]]) -> Callable[..., list[float]]:
        def read(*args: Any, completions: list[str], **columns: Any) -> list[float]:
            return reward(*args, completions=[opening + c for c in completions], **columns)

        read.__name__ = reward.__name__  # TRL logs each reward by its name
        return read

    rows = [r | {"prompt": text(r["prompt"])} for r in rows]
    return rows, [reading_the_opening(r) for r in rewards]


def make_trainer(
    settings: GRPOSettings,
    cuda: bool | None = None,
    extra_rewards: Sequence[Callable[..., list[float]]] = (),
) -> tuple[Any, Any, int]:
    """(the GRPOTrainer, the tokenizer, the number of rows). `extra_rewards` are added to
    the verdict reward (TRL sums reward functions; weights via `trl: {reward_weights}`)."""
    try:
        from datasets import Dataset
        from trl import GRPOTrainer
    except ImportError:
        raise MissingDependencyError("training needs TRL: pip install 'reasonrm[train]'") from None
    args = build_trl_args(settings, cuda)
    if settings.use_vllm and importlib.util.find_spec("vllm") is None:
        raise MissingDependencyError("use_vllm needs vLLM: pip install 'trl[vllm]'")
    rows = grpo_rows(settings)
    model, tokenizer = load_model(settings, cuda)
    rewards, weights = reward_functions(settings)
    if "reward_weights" not in settings.trl:
        args.reward_weights = weights + [1.0] * len(extra_rewards)
    rewards = [*rewards, *extra_rewards]
    if settings.prefill:
        rows, rewards = with_opening(rows, rewards, settings, tokenizer)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(settings),
    )
    return trainer, tokenizer, len(rows)


def run_grpo(
    settings: GRPOSettings,
    cuda: bool | None = None,
    extra_rewards: Sequence[Callable[..., list[float]]] = (),
) -> TrainResult:
    """Train, resuming from the latest checkpoint in output_dir when `resume`; save the
    final model (merged, for LoRA) and tokenizer in output_dir."""
    trainer, tokenizer, rows = make_trainer(settings, cuda, extra_rewards)
    return train_and_save(trainer, settings, tokenizer, rows)
