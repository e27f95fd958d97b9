"""The report's PNG plots (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reasonrm.errors import MissingDependencyError
from reasonrm.eval.estimate import Estimate

if TYPE_CHECKING:
    from reasonrm.eval.report import Report


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError(
            "the report's plots need matplotlib: pip install 'reasonrm[report]'"
        ) from None
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


def _bars(plt, path: Path, title: str, xlabel: str, values: dict[str, Estimate], ref=None) -> None:
    names = list(values)
    means = [values[n].value or 0.0 for n in names]
    # error bars as distances from the mean (none where there is no interval), clamped at 0:
    # a point estimate can sit just outside its percentile interval
    low, high = [], []
    for e, m in zip(values.values(), means, strict=True):
        low.append(max(0.0, m - e.low) if e.low is not None else 0.0)
        high.append(max(0.0, e.high - m) if e.high is not None else 0.0)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.4))
    colors = ["#dd8452" if n.startswith("[") else "#4c72b0" for n in names]  # headline apart
    ax.barh(names, means, xerr=[low, high], color=colors, capsize=2)
    if ref is not None:
        ax.axvline(ref, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw(report: Report, out_dir: Path) -> list[str]:
    """Writes accuracy.png, position_bias.png, tokens.png and invalid.png; returns the names."""

    plt = _pyplot()
    b = report.behaviour
    accuracy = {f"[{k}]": v for k, v in report.headline.items() if v.value is not None}
    accuracy |= report.subsets
    _bars(
        plt,
        out_dir / "accuracy.png",
        f"{report.benchmark}: [scores] and subsets, 95% CI",
        "accuracy",
        accuracy,
    )
    first = {"[all]": Estimate(b.positions.first_slot_rate)} | {
        s: Estimate(p.first_slot_rate) for s, p in sorted(b.by_subset.items())
    }
    _bars(
        plt,
        out_dir / "position_bias.png",
        "How often the response shown first wins (dashed: no bias)",
        "first-slot win rate",
        first,
        ref=0.5,
    )
    invalid = {
        s: Estimate(bad / total if total else None)
        for s, (bad, total) in sorted(b.invalid_by_subset.items())
    }
    invalid = {"[all]": Estimate(b.invalid_rate)} | invalid
    _bars(plt, out_dir / "invalid.png", "Votes without a valid verdict", "invalid rate", invalid)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(b.tokens or [0], bins=30, color="#55a868")
    ax.set_title("Completion tokens per judgment")
    ax.set_xlabel("tokens")
    ax.set_ylabel("judgments")
    fig.tight_layout()
    fig.savefig(out_dir / "tokens.png", dpi=100)
    plt.close(fig)
    names = ["accuracy.png", "position_bias.png", "tokens.png", "invalid.png"]
    if b.scored:
        _reliability(plt, out_dir / "reliability.png", b.scored)
        names.append("reliability.png")
    return names


def _reliability(plt, path: Path, scored) -> None:
    """Accuracy against confidence per bin; a calibrated judge sits on the diagonal."""
    from reasonrm.confidence import reliability

    bins = [b for b in reliability(scored, bins=5) if b.pairs]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0.5, 1], [0.5, 1], color="grey", linestyle="--", linewidth=1)
    ax.plot([b.mean_confidence for b in bins], [b.accuracy for b in bins], marker="o")
    for b in bins:
        ax.annotate(
            str(b.pairs),
            (b.mean_confidence, b.accuracy),
            textcoords="offset points",
            xytext=(4, -10),
        )
    ax.set_xlim(0.5, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence, max(p_a, 1 - p_a)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability (numbers: judgments per bin)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
