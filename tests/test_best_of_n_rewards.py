"""Best-of-N and tournament rewards, with scripted policy and judge engines."""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedEngine, quality_judge

from reasonrm.best_of_n import best_of_n
from reasonrm.errors import ContextLengthError, EngineError, EngineUnavailableError, InputError
from reasonrm.judge import Judge
from reasonrm.ranking import Ranker
from reasonrm.rewards import TournamentReward, text_of
from reasonrm.types import SamplingParams

PROMPT = "Name a prime number."


def ranker(method="knockout", engine=None, **kw) -> Ranker:
    return Ranker(Judge(engine or ScriptedEngine(quality_judge), "rrm"), method, **kw)


def test_best_of_n_samples_once_and_returns_the_tournament_winner():
    policy = ScriptedEngine([f"answer {k} q={q}" for k, q in enumerate([3, 9, 1, 4, 7])])
    result = best_of_n(policy, ranker(), PROMPT, n=5)
    assert policy.requests == 1 and policy.calls[0].params.n == 5
    assert policy.calls[0].params.temperature == 0.8
    assert result.best == "answer 1 q=9" and result.ranking.best == 1
    assert len(result.ranking.matches) == 4
    d = json.loads(json.dumps(result.to_dict()))
    assert d["best"] == "answer 1 q=9" and d["best_index"] == 1 and len(d["responses"]) == 5
    assert d["policy_tokens"] == 5 * 3 and d["truncated"] == [False] * 5


def test_best_of_n_passes_sampling_params_and_flags_truncation():
    policy = ScriptedEngine([("cut q=2", "length"), "done q=1"])
    params = SamplingParams(max_tokens=7, temperature=1.1, seed=5)
    result = best_of_n(policy, ranker("elo"), PROMPT, n=2, params=params)
    assert policy.calls[0].params == SamplingParams(max_tokens=7, temperature=1.1, seed=5, n=2)
    assert result.truncated == [True, False] and result.best == "cut q=2"


def test_a_policy_that_fails_gives_one_clear_error():
    def broken(chat, params):
        raise ContextLengthError("the prompt has 9000 tokens")

    with pytest.raises(ContextLengthError, match="the policy failed while sampling 4"):
        best_of_n(ScriptedEngine(broken), ranker(), PROMPT, n=4)

    class Short(ScriptedEngine):
        async def agenerate(self, chats, params):
            (samples,) = await super().agenerate(chats, params)
            return [samples[:2]]

    with pytest.raises(EngineError, match="returned 2 responses instead of 4"):
        best_of_n(Short(lambda c, p: "x q=1"), ranker(), PROMPT, n=4)


def test_tournament_reward_groups_completions_by_prompt():
    reward = TournamentReward(ranker("knockout"))
    assert reward.__name__ == "tournament_knockout"
    # two prompts, interleaved as a shuffled batch might be; conversational completions
    prompts = [[{"role": "user", "content": p}] for p in ("P1", "P2", "P1", "P2", "P1", "P2", "P1")]
    qualities = [5, 1, 9, 2, 3, 8, 7]
    completions = [
        [{"role": "assistant", "content": f"c{k} q={q}"}] for k, q in enumerate(qualities)
    ]
    rewards = reward(prompts=prompts, completions=completions, extra_column=[0] * 7)
    # P1 group: q 5, 9, 3, 7 (a 4-player knockout: champion 1, finalist 0.5, others 0)
    assert rewards[2] == 1.0 and sorted(rewards[k] for k in (0, 2, 4, 6)) == [0, 0, 0.5, 1]
    # P2 group: q 1, 2, 8 (3 players: one bye)
    assert rewards[5] == 1.0 and rewards[1] == 0.0
    assert len(reward.last) == 2 and reward.failures == 0


def test_tournament_reward_takes_trl_groups_by_num_generations():
    # TRL's layout: consecutive runs of num_generations; the same prompt twice is two groups
    reward = TournamentReward(ranker("knockout"), num_generations=2)
    rewards = reward(prompts=["P", "P", "P", "P"], completions=["q=1", "q=2", "q=4", "q=3"])
    assert rewards == [0.0, 1.0, 1.0, 0.0] and len(reward.last) == 2
    with pytest.raises(InputError, match="share one prompt"):
        reward(prompts=["P", "Q", "P", "Q"], completions=["q=1", "q=2", "q=4", "q=3"])
    with pytest.raises(InputError, match="groups of 2"):
        reward(prompts=["P", "P", "P"], completions=["q=1", "q=2", "q=4"])


def test_tournament_reward_elo_and_plain_strings():
    reward = TournamentReward(ranker("elo"))
    rewards = reward(prompts=["P"] * 4, completions=["a q=1", "b q=4", "c q=2", "d q=3"])
    assert sorted(range(4), key=lambda i: -rewards[i]) == [1, 3, 2, 0]
    assert sum(rewards) == pytest.approx(2.0)


def test_tournament_brackets_change_between_steps_but_reruns_repeat():
    def brackets(reward):
        out = []
        for _ in range(3):
            reward(prompts=["P"] * 8, completions=[f"r{k} q={k}" for k in range(8)])
            out.append([(m.a, m.b) for m in reward.last[0].matches if m.round == 1])
        return out

    first, second = brackets(TournamentReward(ranker())), brackets(TournamentReward(ranker()))
    assert first == second and len({tuple(b) for b in first}) > 1


def test_a_failed_group_gets_the_neutral_reward_and_a_dead_judge_stops():
    def script(chat, params):
        if "TOO LONG" in chat[-1]["content"]:
            raise ContextLengthError("too long")
        return quality_judge(chat, params)

    reward = TournamentReward(ranker(engine=ScriptedEngine(script)))
    rewards = reward(
        prompts=["TOO LONG", "TOO LONG", "ok", "ok"], completions=["a q=1", "b q=2"] * 2
    )
    assert rewards == [0.5, 0.5, 0.0, 1.0] and reward.failures == 1

    def dead(chat, params):
        raise EngineUnavailableError("cannot reach http://127.0.0.1:9")

    with pytest.raises(EngineUnavailableError):
        TournamentReward(ranker(engine=ScriptedEngine(dead)))(
            prompts=["p", "p"], completions=["a q=1", "b q=2"]
        )


def test_text_of():
    assert text_of("x") == "x"
    assert text_of([{"role": "assistant", "content": "y"}]) == "y"
    with pytest.raises(TypeError):
        text_of(3)
