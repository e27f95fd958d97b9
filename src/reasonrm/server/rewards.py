"""POST /get_reward: one reward per query from a pairwise judge, for OpenRLHF's remote reward
model (`--remote_rm_url http://HOST:PORT/get_reward`).

OpenRLHF sends `{"query": [...], "prompts": [...], "labels": [...]}`, where `query[i]` is
`prompts[i]` followed by the policy's response (the response is what follows the prompt,
`training.rewards.response_of`) and `labels[i]` is the dataset's `--label_key` column. A
pairwise judge needs a second response to compare with, so each query is rewarded one of
two ways:

- **Against a reference** (`labels[i]` is a non-empty reference answer): the judge compares
  the response (as A) with the reference (as B), with the server's votes and orders (both
  orders by default). Reward +1 when the response wins, -1 when the reference wins, 0 when
  there is no verdict (the orders disagree, no vote was valid, or the judgment failed).
  Score (for OpenRLHF's 0-1 filtering): 1, 0 and 0.5.
- **Within its group** (no label, or an empty one): the queries of one request that share a
  prompt form a group, as the n samples per prompt of GRPO-style training do, and play a
  knockout tournament (`ranking.Ranker`, the one `group_rewards.TournamentReward` gives
  TRL). Reward and score are `Ranking.rewards`, in [0, 1]: the share of rounds won, 1 for
  the champion; a group of one gets 1. Groups only form within one request, so send all of a
  prompt's samples together. A group whose tournament fails gets 0.5 for every member
  (TournamentReward's failure reward: equal rewards give zero advantages).

One request may mix both. `extra_logs` holds, per query, `vs_reference` (1 when judged
against a reference), `no_verdict` (1 when such a judgment gave no winner) and `failed`
(1 when its judgment or tournament failed). An engine that cannot be reached at all is a
503, which OpenRLHF retries.
"""

from __future__ import annotations

from reasonrm.api_models import (
    REWARD_VS_REFERENCE,
    SCORE_VS_REFERENCE,
    RewardRequest,
    RewardResponse,
)
from reasonrm.errors import InputError
from reasonrm.group_rewards import group_by_prompt
from reasonrm.ranking import Ranking
from reasonrm.server.guards import ApiError, check_length
from reasonrm.server.service import Disconnected, JudgeService, comparison
from reasonrm.training.rewards import response_of
from reasonrm.types import Judgment

FAILED_GROUP = 0.5


async def get_reward(
    service: JudgeService, request: RewardRequest, disconnected: Disconnected | None = None
) -> RewardResponse:
    n = len(request.query)
    labels = request.labels if request.labels is not None else [None] * n
    if not len(request.prompts) == len(labels) == n:
        raise ApiError(
            422,
            f"query has {n} items, prompts {len(request.prompts)} and labels {len(labels)}: "
            "they must have the same length",
        )
    service.check_jobs(n, f"{n} queries")
    responses = []
    for i, (query, prompt) in enumerate(zip(request.query, request.prompts, strict=True)):
        max_chars = service.settings.max_chars
        check_length(query, f"query[{i}]", max_chars)
        check_length(prompt, f"prompts[{i}]", max_chars)
        check_length(labels[i] or "", f"labels[{i}]", max_chars)
        comparison(prompt, "", "", f"prompts[{i}]")
        try:
            responses.append(response_of(query, prompt, row=i))
        except InputError as e:
            raise ApiError(422, str(e)) from None

    judged = [i for i in range(n) if (labels[i] or "").strip()]
    groups = group_by_prompt(request.prompts, sorted(set(range(n)) - set(judged)))
    ranker = service.rankers["knockout"]

    def pair_job(i: int):
        c = comparison(request.prompts[i], responses[i], labels[i] or "", f"labels[{i}]")
        return service.judge_job(c)

    def group_job(members: list[int]):
        prompt = request.prompts[members[0]]
        return lambda: ranker.arank(prompt, [responses[i] for i in members])

    makers = [pair_job(i) for i in judged] + [group_job(m) for m in groups]
    results = await service.run(makers, disconnected)

    rewards, scores = [0.0] * n, [0.0] * n
    logs = {key: [0.0] * n for key in ("vs_reference", "no_verdict", "failed")}
    for i, result in zip(judged, results[: len(judged)], strict=True):
        logs["vs_reference"][i] = 1.0
        winner = result.winner if isinstance(result, Judgment) else None
        rewards[i] = REWARD_VS_REFERENCE[winner]
        scores[i] = SCORE_VS_REFERENCE[winner]
        logs["no_verdict"][i] = float(winner is None)
        logs["failed"][i] = float(not isinstance(result, Judgment))
        if isinstance(result, Judgment):
            service.metrics.count([result])
    for members, result in zip(groups, results[len(judged) :], strict=True):
        if isinstance(result, Ranking):
            service.count_ranking(result)
            for i, reward in zip(members, result.rewards, strict=True):
                rewards[i] = scores[i] = reward
        else:
            for i in members:
                rewards[i] = scores[i] = FAILED_GROUP
                logs["failed"][i] = 1.0
    return RewardResponse(rewards=rewards, scores=scores, extra_logs=logs)
