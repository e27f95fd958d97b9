"""Run by `accelerate launch --multi_gpu --num_processes 2` (two CPU processes, gloo) from
test_multiprocess_training: train a smoke config and record, per rank, what each batch held,
so the test can check that the ranks trained on different pairs, each batch on both orders
of its pairs. Usage: two_ranks.py sft|grpo OUTPUT_DIR"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from reasonrm.training.config import load_settings
from reasonrm.training.grpo import run_grpo
from reasonrm.training.run import train_and_save
from reasonrm.training.sft import make_trainer

QUERY = re.compile(r"## Query\n\n(.*?)\n\n## ", re.DOTALL)


def main() -> None:
    stage, out = sys.argv[1], Path(sys.argv[2])
    config = Path(__file__).resolve().parents[2] / "configs" / f"cpu-smoke-{stage}.yaml"
    settings = load_settings(config, stage, [f"output_dir={out}", "max_steps=2", "save_steps=1"])
    rank = os.environ["RANK"]
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / f"rank{rank}.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    if stage == "grpo":

        def record(prompts, completions, pair, label, **_):
            log.write(json.dumps({"pairs": pair, "labels": label}) + "\n")
            log.flush()
            return [0.0] * len(completions)

        run_grpo(settings, cuda=False, extra_rewards=[record])
    else:
        trainer, tokenizer, rows = make_trainer(settings, cuda=False)
        for step, batch in enumerate(trainer.get_train_dataloader()):
            if step == 2:
                break
            texts = tokenizer.batch_decode(batch["input_ids"], skip_special_tokens=True)
            queries = [QUERY.search(t).group(1) for t in texts]
            log.write(json.dumps({"queries": queries}) + "\n")
        result = train_and_save(trainer, settings, tokenizer, rows)
        log.write(json.dumps({"hardware": result.hardware}) + "\n")
        log.flush()


if __name__ == "__main__":
    main()
