"""A few real GRPOTrainer steps on the CPU, for the tests whose rewards come from a judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train_grpo(
    policy: Any,
    tokenizer: Any,
    reward: Any,
    prompts: list[list[dict[str, str]]],
    out: Path,
    *,
    steps: int,
    generations: int,
    completion_length: int,
    learning_rate: float,
) -> Any:
    """Train `policy` for `steps` steps of one group of `generations` completions; the
    trainer, trained."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    config = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=False,
        report_to="none",
        max_steps=steps,
        per_device_train_batch_size=generations,
        num_generations=generations,
        max_completion_length=completion_length,
        learning_rate=learning_rate,
        logging_steps=1,
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=tokenizer,
    )
    trainer.train()
    return trainer
