"""POST /get_reward: one reward per query from a pairwise judge, for OpenRLHF's remote reward
model (`--remote_rm_url http://HOST:PORT/get_reward`).

OpenRLHF sends `{"query": [...], "prompts": [...], "labels": [...]}`, where `query[i]` is
`prompts[i]` followed by the policy's response (the response is what follows the prompt,
`reasonrm.rewards.response_of`) and `labels[i]` is the dataset's `--label_key` column. A
pairwise judge needs a second response to compare with, so each query is rewarded one of
two ways:

- **Against a reference** (`labels[i]` is a non-empty reference answer): the judge compares
  the response (as A) with the reference (as B), with the server's votes and orders (both
  orders by default). Reward +1 when the response wins, -1 when the reference wins, 0 when
  there is no verdict (the orders disagree, no vote was valid, or the judgment failed).
  Score (for OpenRLHF's 0-1 filtering): 1, 0 and 0.5.
- **Within its group** (no label, or an empty one): the queries of one request that share a
  prompt form a group, as the n samples per prompt of GRPO-style training do, and play a
  knockout tournament (`ranking.Ranker`, the one `reasonrm.rewards.TournamentReward` gives
  TRL). Reward and score are `Ranking.rewards`, in [0, 1]: the share of rounds won, 1 for
  the champion; a group of one gets 1. Groups only form within one request, so send all of a
  prompt's samples together. A group whose tournament fails gets 0.5 for every member
  (TournamentReward's failure reward: equal rewards give zero advantages).

One request may mix both. `extra_logs` holds, per query, `vs_reference` (1 when judged
against a reference), `no_verdict` (1 when such a judgment gave no winner) and `failed`
(1 when its judgment or tournament failed). An engine that cannot be reached at all is a
503, which OpenRLHF retries.

The rules are `reasonrm.rewards.mixed`'s (the client's remote TRL reward uses them too);
this module checks the request, runs its jobs through the service and answers.
"""

from __future__ import annotations

from reasonrm.api_models import RewardRequest, RewardResponse
from reasonrm.errors import InputError
from reasonrm.ranking import Ranking
from reasonrm.rewards import batch_rewards, group_by_prompt, reference_rows, response_of
from reasonrm.server.guards import ApiError, check_length
from reasonrm.server.service import Disconnected, JudgeService, comparison
from reasonrm.types import Judgment


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

    judged = reference_rows(labels)
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

    service.metrics.count([r for r in results if isinstance(r, Judgment)])
    for r in results:
        if isinstance(r, Ranking):
            service.count_ranking(r)
    got = batch_rewards(n, judged, results[: len(judged)], groups, results[len(judged) :])
    return RewardResponse(rewards=got.rewards, scores=got.scores, extra_logs=got.logs)
