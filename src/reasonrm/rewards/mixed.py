"""Rewards from a pairwise judge for a batch of policy responses that mixes two kinds of row.
The server's /get_reward and the client's RemoteJudgeReward share these rules:

- a row with a non-empty reference answer is judged against it (the response as A, the
  reference as B): `REWARD_VS_REFERENCE` by the judgment's winner (None: no verdict or a
  failed judgment), and `SCORE_VS_REFERENCE` for OpenRLHF's 0-1 filtering; a judge that
  scores probabilities (score="prob") gives continuous ones instead: 2·p_a − 1 and p_a;
- the other rows are ranked within their group (`reasonrm.rewards.groups`): reward and
  score are the tournament's `Ranking.rewards`, or `FAILURE_REWARD` for a failed group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reasonrm.ranking import Ranking
from reasonrm.rewards.groups import FAILURE_REWARD
from reasonrm.types import Judgment

REWARD_VS_REFERENCE = {"A": 1.0, "B": -1.0, None: 0.0}
SCORE_VS_REFERENCE = {"A": 1.0, "B": 0.0, None: 0.5}


def reference_rows(references: Sequence[Any] | None) -> list[int]:
    """The rows judged against a reference: those whose reference is a non-empty string."""
    return [i for i, r in enumerate(references or []) if isinstance(r, str) and r.strip()]


@dataclass(frozen=True)
class BatchRewards:
    """A reward and a score per row; `logs` holds, per row, `vs_reference` (1 when judged
    against a reference), `no_verdict` (1 when such a judgment gave no winner) and `failed`
    (1 when its judgment or tournament failed)."""

    rewards: list[float]
    scores: list[float]
    logs: dict[str, list[float]]


def batch_rewards(
    n: int,
    judged: Sequence[int],
    judgments: Sequence[Judgment | BaseException],
    groups: Sequence[Sequence[int]],
    rankings: Sequence[Ranking | BaseException],
) -> BatchRewards:
    """The rewards of `n` rows: row `judged[k]` was judged against its reference with the
    result `judgments[k]`; the rows of `groups[g]` played the tournament `rankings[g]`.
    A result that is an exception is a failed judgment or tournament."""
    rewards, scores = [0.0] * n, [0.0] * n
    logs = {key: [0.0] * n for key in ("vs_reference", "no_verdict", "failed")}
    for i, result in zip(judged, judgments, strict=True):
        winner = result.winner if isinstance(result, Judgment) else None
        p_a = result.p_a if isinstance(result, Judgment) else None
        rewards[i] = REWARD_VS_REFERENCE[winner] if p_a is None else 2 * p_a - 1
        scores[i] = SCORE_VS_REFERENCE[winner] if p_a is None else p_a
        logs["vs_reference"][i] = 1.0
        logs["no_verdict"][i] = float(winner is None)
        logs["failed"][i] = float(not isinstance(result, Judgment))
    for members, result in zip(groups, rankings, strict=True):
        if isinstance(result, Ranking):
            for i, reward in zip(members, result.rewards, strict=True):
                rewards[i] = scores[i] = reward
        else:
            for i in members:
                rewards[i] = scores[i] = FAILURE_REWARD
                logs["failed"][i] = 1.0
    return BatchRewards(rewards, scores, logs)
