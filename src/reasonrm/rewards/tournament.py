"""Tournament rewards for group-relative RL (GRPO): the completions of one prompt play a
tournament and each gets a reward from its standing. Plugs into TRL's
`GRPOTrainer(reward_funcs=[TournamentReward(ranker)])`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from reasonrm.engines.base import run_sync
from reasonrm.errors import EngineUnavailableError, InputError, ReasonRMError
from reasonrm.ranking import Ranker, Ranking
from reasonrm.rewards.completions import text_of
from reasonrm.rewards.groups import FAILURE_REWARD, bracket_seed, generation_groups

log = logging.getLogger(__name__)


class TournamentReward:
    """A TRL reward function. Completions are grouped by prompt (TRL passes each prompt
    `num_generations` times); each group plays a tournament (`ranker`'s method) and every
    completion gets `Ranking.rewards`: knockout, the share of rounds survived; elo, its
    expected score against the rest of its group. Rewards lie in [0, 1].

    `num_generations` (pass GRPOConfig's): TRL lays each prompt's completions out as
    consecutive runs of that size, and groups are taken as those runs, so a prompt that
    appears twice in a batch makes two groups. Without it, completions are grouped by
    prompt text.

    Each call seeds its brackets with the call number, so brackets differ from call to call
    and a rerun from the start repeats them. A group whose tournament fails (e.g. a prompt too long for the
    judge's context) gets `failure_reward` for every completion, so its advantages are zero
    and it does not steer the policy; the failure is logged and counted in `failures`.
    An unreachable judge server stops training instead.
    """

    def __init__(
        self,
        ranker: Ranker,
        num_generations: int | None = None,
        failure_reward: float = FAILURE_REWARD,
    ) -> None:
        if num_generations is not None and num_generations < 1:
            raise InputError("num_generations must be at least 1")
        self.ranker = ranker
        self.num_generations = num_generations
        self.failure_reward = failure_reward
        self.calls = 0
        self.failures = 0
        self.last: list[Ranking | None] = []  # the latest call's tournaments, one per group
        self.__name__ = f"tournament_{ranker.method}"  # TRL logs rewards under this name

    def __call__(self, prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        groups = generation_groups(prompts, self.num_generations)
        self.calls += 1
        rankings = run_sync(self._rank_groups(prompts, completions, groups))
        self.last = rankings
        rewards = [self.failure_reward] * len(completions)
        for members, ranking in zip(groups, rankings, strict=True):
            if ranking is not None:
                for i, r in zip(members, ranking.rewards, strict=True):
                    rewards[i] = r
        return rewards

    async def _rank_groups(self, prompts, completions, groups: list[list[int]]):
        async def one(g: int, members: list[int]) -> Ranking | None:
            try:
                return await self.ranker.arank(
                    prompts[members[0]],
                    [text_of(completions[i]) for i in members],
                    seed=bracket_seed(self.ranker.seed, self.calls, g),
                )
            except EngineUnavailableError:
                raise
            except ReasonRMError as e:
                self.failures += 1
                log.warning(
                    "tournament reward: group %d failed (%s); reward %s", g, e, self.failure_reward
                )
                return None

        return list(await asyncio.gather(*(one(g, m) for g, m in enumerate(groups))))
