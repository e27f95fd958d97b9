"""A training run's start and end: resuming from the latest checkpoint, training, and the
final save that `reasonrm judge --engine transformers` loads."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reasonrm.training.checkpoints import latest_checkpoint
from reasonrm.training.config import SAVED_CONFIG, TrainSettings, dump_settings

log = logging.getLogger(__name__)

WALL_CLOCK = "wall_seconds.json"  # in each checkpoint: training seconds up to it, all runs


def wall_seconds_before(resume: Path | None) -> float | None:
    """Training seconds spent before `resume`: 0 for a fresh run, None when the checkpoint
    has no record (saved by an older version)."""
    if resume is None:
        return 0.0
    record = resume / WALL_CLOCK
    if not record.is_file():
        return None
    return float(json.loads(record.read_text())["seconds"])


def wall_clock_callback(before: float, started: float) -> Any:
    """Writes the training seconds so far into each checkpoint as it is saved, so a run
    resumed after an interruption still knows its total time."""
    from transformers import TrainerCallback

    class WallClock(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and folder.is_dir():
                seconds = before + time.perf_counter() - started
                record = {"seconds": round(seconds, 3), "step": state.global_step}
                (folder / WALL_CLOCK).write_text(json.dumps(record))

    return WallClock()


def resume_point(settings: TrainSettings) -> Path | None:
    """The checkpoint to resume from, when `resume` and one exists; warns when the saved
    settings differ (raising max_steps to train on is the usual, harmless change)."""
    found = latest_checkpoint(settings.output_dir)
    if found is None:
        return None
    if not settings.resume:
        log.warning(
            "resume is off: training from the start; checkpoints in %s will be overwritten",
            settings.output_dir,
        )
        return None
    saved = Path(settings.output_dir) / SAVED_CONFIG
    if saved.is_file():
        before = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
        now = settings.model_dump(mode="json")
        changed = sorted(k for k in now if before.get(k) != now[k])
        if changed:
            log.warning("resuming with changed settings: %s", ", ".join(changed))
    log.info("resuming from %s", found)
    return found


@dataclass
class TrainResult:
    """Where the model went and what the run did."""

    stage: str
    output_dir: Path
    global_step: int
    steps_this_run: int
    resumed_from: Path | None
    seconds: float
    rows: int
    total_seconds: float | None = None  # all runs to this step; None if a resume lost it
    metrics: dict[str, Any] = field(default_factory=dict)
    log_history: list[dict[str, Any]] = field(default_factory=list)
    hardware: dict[str, Any] = field(default_factory=dict)  # device, processes, precision

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "output_dir": str(self.output_dir),
            "global_step": self.global_step,
            "steps_this_run": self.steps_this_run,
            "resumed_from": str(self.resumed_from) if self.resumed_from else None,
            "seconds": round(self.seconds, 3),
            "total_seconds": None if self.total_seconds is None else round(self.total_seconds, 3),
            "rows": self.rows,
            "hardware": self.hardware,
            "metrics": self.metrics,
        }


def train_and_save(trainer: Any, settings: TrainSettings, tokenizer: Any, rows: int) -> TrainResult:
    """Train (resuming when there is a checkpoint), then save a folder that
    `AutoModelForCausalLM.from_pretrained` loads, with its tokenizer and the settings."""
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = resume_point(settings)
    start_step = 0
    if resume is not None:
        state = resume / "trainer_state.json"
        if state.is_file():
            start_step = json.loads(state.read_text()).get("global_step", 0)
    before = wall_seconds_before(resume)
    started = time.perf_counter()
    if before is not None:  # else the total is unknown: record nothing rather than a part
        trainer.add_callback(wall_clock_callback(before, started))
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds = time.perf_counter() - started
    save_final(trainer, settings, tokenizer)
    step = trainer.state.global_step
    return TrainResult(
        stage=settings.STAGE,
        output_dir=out,
        global_step=step,
        steps_this_run=step - start_step,
        resumed_from=resume,
        seconds=seconds,
        rows=rows,
        total_seconds=None if before is None else before + seconds,
        metrics=dict(output.metrics),
        log_history=list(trainer.state.log_history),
        hardware=hardware(trainer),
    )


def hardware(trainer: Any) -> dict[str, Any]:
    """Where the run trained: a result that says so shows a GPU run that fell back to the CPU."""
    accelerator = trainer.accelerator
    mixed = str(accelerator.mixed_precision)  # what ran, whatever the config asked for
    return {
        "device": accelerator.device.type,
        "processes": accelerator.num_processes,
        "precision": "fp32" if mixed == "no" else mixed,
    }


def save_final(trainer: Any, settings: TrainSettings, tokenizer: Any) -> None:
    out = Path(settings.output_dir)
    lora = settings.lora
    if lora is None or not lora.merge:
        trainer.save_model(str(out))  # gathers ZeRO-3 shards; a LoRA run saves its adapter
    elif trainer.accelerator.is_main_process:
        model = trainer.accelerator.unwrap_model(trainer.model)
        model.save_pretrained(str(out / "adapter"))
        merged = model.merge_and_unload()
        merged.save_pretrained(str(out))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(str(out))
        (out / SAVED_CONFIG).write_text(dump_settings(settings), encoding="utf-8")
