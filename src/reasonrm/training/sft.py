"""Supervised fine-tuning of a judge on chat rows (`reasonrm train sft`): the distillation
stage of RM-R1, where a student learns to write a teacher's reasoning and verdict.

Input rows (JSON lines; other fields are ignored):

    {"messages": [{"role": "system", ...}?, {"role": "user", ...}, {"role": "assistant", ...}]}

The last message is the assistant's reasoning and verdict, the rest the judge prompt. With
`target: verdict` (label-only training, no teacher) the rows are `data prepare`'s judge
chats with their labels, and the answer is the protocol's bare verdict for the label.
Rows longer than `max_length` tokens are dropped and counted, never truncated (truncation
would cut off the verdict at the end). With `loss: completion` (the default) only the last
message is trained on; see `reasonrm.training.config` for "assistant" and "all".

With `both_orders` (the default) rows are read in pair units and in that order (no
shuffling), so every batch holds both orders of each pair in it; a pair too long in
either order is dropped whole.

The model is TRL's SFTTrainer over a full model or a LoRA adapter (peft); the output
folder loads with `AutoModelForCausalLM.from_pretrained` and with
`reasonrm judge --engine transformers --model OUTPUT`.
"""

from __future__ import annotations

import logging
from typing import Any

from reasonrm.errors import InputError, MissingDependencyError
from reasonrm.training.both_orders import pair_units, unit_order
from reasonrm.training.chats import check_chat, read_data
from reasonrm.training.checkpoints import load_model, peft_config
from reasonrm.training.config import SFTSettings
from reasonrm.training.data import resolve_protocol
from reasonrm.training.run import TrainResult, train_and_save
from reasonrm.training.trl_args import build_trl_args
from reasonrm.types import Message

log = logging.getLogger(__name__)


def sft_rows(settings: SFTSettings) -> list[list[Message]]:
    """The chats to train on, checked: each ends with a non-empty assistant message. With
    both_orders, in pair units (`reasonrm.training.both_orders`): rows 2k and 2k+1 are the
    two orders of one pair."""
    _, rows = read_data(settings)
    if settings.both_orders:
        rows = [rows[i] for i in unit_order(pair_units(rows), settings.seed)]
    verdict = verdict_target(settings) if settings.target in ("verdict", "label") else None
    chats = []
    for where, row in rows:
        if "messages" not in row:
            raise InputError(f"{where}: missing field 'messages' (a chat ending with the answer)")
        chat = check_chat(row["messages"], where)
        if verdict is not None:
            chat = verdict(chat, row, where)
        last = chat[-1]
        if last["role"] != "assistant" or not last["content"].strip():
            raise InputError(
                f"{where}: the last message must be the assistant's (non-empty) answer to "
                "train on; rows from `reasonrm data prepare` are GRPO prompts: use `train grpo`"
            )
        if not any(m["role"] == "user" for m in chat[:-1]):
            raise InputError(f"{where}: no user message before the answer")
        chats.append(chat)
    return chats


def verdict_target(settings: SFTSettings) -> Any:
    """For `target: verdict`: a function completing a `data prepare` row's judge chat with
    the protocol's bare verdict for its label."""
    protocol = resolve_protocol(settings.data_file(), settings.protocol)

    def complete(chat: list[Message], row: dict[str, Any], where: str) -> list[Message]:
        if chat[-1]["role"] != "user":
            raise InputError(
                f"{where}: target: verdict writes the answer itself, so rows must end with the "
                "user's turn (rows from `reasonrm data prepare`); this one already has an answer"
            )
        if row.get("label") not in ("A", "B"):
            raise InputError(f"{where}: label must be 'A' or 'B', got {row.get('label')!r}")
        return [*chat, {"role": "assistant", "content": protocol.verdict_text(row["label"])}]

    return complete


def count_tokens(tokenizer: Any, chat: list[Message]) -> int:
    text = tokenizer.apply_chat_template(chat, tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def drop_long(
    chats: list[list[Message]], tokenizer: Any, max_length: int, both_orders: bool = False
) -> list[list[Message]]:
    """The chats within max_length; with both_orders, a pair goes whole or not at all."""
    fits = [count_tokens(tokenizer, c) <= max_length for c in chats]
    if both_orders:  # rows 2k and 2k+1 are one pair's two orders
        fits = [fits[i] and fits[i ^ 1] for i in range(len(fits))]
    kept = [c for c, ok in zip(chats, fits, strict=True) if ok]
    if not kept:
        raise InputError(
            f"every row is longer than max_length ({max_length} tokens); raise max_length"
        )
    if len(kept) < len(chats):
        log.warning(
            "dropped %d of %d rows over %d tokens", len(chats) - len(kept), len(chats), max_length
        )
    return kept


def check_assistant_loss(tokenizer: Any) -> None:
    """TRL's assistant_only_loss needs `{% generation %}` markers, or a template it can patch."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if has_generation_markers(tokenizer.chat_template):
        return
    try:
        get_training_chat_template(tokenizer)
    except ValueError:
        raise InputError(
            "loss: assistant needs a chat template with {% generation %} markers, and TRL "
            "cannot patch this model's template; use loss: completion (the last assistant "
            "message) or loss: all"
        ) from None


def build_dataset(settings: SFTSettings, chats: list[list[Message]], tokenizer: Any) -> Any:
    from datasets import Dataset

    chats = drop_long(chats, tokenizer, settings.max_length, settings.both_orders)
    if settings.target == "label":
        prefix = resolve_protocol(settings.data_file(), settings.protocol).score_prefix()
        return Dataset.from_list([label_split(c, tokenizer, prefix) for c in chats])
    if settings.loss == "completion":
        return Dataset.from_list([{"prompt": c[:-1], "completion": c[-1:]} for c in chats])
    return Dataset.from_list([{"messages": c} for c in chats])


def label_split(chat: list[Message], tokenizer: Any, prefix: str) -> dict[str, str]:
    """A verdict chat as text, cut after the verdict's `prefix` (`\\boxed{Assistant `): the
    prompt ends where the label goes, the completion is the label, what closes the verdict
    and the end-of-turn token (the chat template's newline after it is left out, so TRL adds
    no second end-of-sequence)."""
    prompt = tokenizer.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(chat, tokenize=False)
    prompt += prefix
    if not full.startswith(prompt):
        raise InputError(
            "target: label needs the chat template to render the verdict's opening "
            f"{prefix!r} right after the generation prompt; this template does not"
        )
    completion = full[len(prompt) :]
    eos = tokenizer.eos_token
    if eos and eos in completion:
        completion = completion[: completion.rfind(eos) + len(eos)]
    return {"prompt": prompt, "completion": completion}


def make_trainer(settings: SFTSettings, cuda: bool | None = None) -> tuple[Any, Any, int]:
    """(the SFTTrainer, the tokenizer, the number of rows) for these settings."""
    try:
        from trl import SFTTrainer
    except ImportError:
        raise MissingDependencyError("training needs TRL: pip install 'reasonrm[train]'") from None
    args = build_trl_args(settings, cuda)
    chats = sft_rows(settings)  # bad data fails before a model is loaded
    model, tokenizer = load_model(settings, cuda)
    if settings.loss == "assistant":
        check_assistant_loss(tokenizer)
    dataset = build_dataset(settings, chats, tokenizer)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(settings),
    )
    return trainer, tokenizer, len(dataset)


def run_sft(settings: SFTSettings, cuda: bool | None = None) -> TrainResult:
    """Train, resuming from the latest checkpoint in output_dir when `resume`; save the
    final model (merged, for LoRA) and tokenizer in output_dir."""
    trainer, tokenizer, rows = make_trainer(settings, cuda)
    return train_and_save(trainer, settings, tokenizer, rows)
