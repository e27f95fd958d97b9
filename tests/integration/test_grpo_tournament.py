"""A real TRL GRPOTrainer run on the CPU: a tiny policy (SmolLM2-135M, dequantized from its
GGUF) trained for a few steps with tournament rewards from a real llama.cpp judge."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")

import torch  # noqa: E402
from short_grpo import train_grpo  # noqa: E402

from reasonrm.judge import Judge  # noqa: E402
from reasonrm.ranking import Ranker  # noqa: E402
from reasonrm.rewards import TournamentReward  # noqa: E402
from reasonrm.training.checkpoints import load_trainable  # noqa: E402

STEPS = 2
GENERATIONS = 4


# knockout in the default run; elo (6 matches a group instead of 3) with -m slow
@pytest.mark.parametrize("method", ["knockout", pytest.param("elo", marks=pytest.mark.slow)])
def test_grpo_trains_a_policy_on_tournament_rewards(
    method, smollm2_path, llamacpp_engine, tmp_path
):
    torch.manual_seed(0)
    policy, tokenizer = load_trainable(str(smollm2_path))
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}

    judge = Judge(llamacpp_engine, "rrm", max_tokens=48, seed=0)
    reward = TournamentReward(Ranker(judge, method=method, seed=0), num_generations=GENERATIONS)
    prompts = [
        [{"role": "user", "content": "Name a primary colour."}],
        [{"role": "user", "content": "What is 2 + 2?"}],
    ]
    trainer = train_grpo(
        policy,
        tokenizer,
        reward,
        prompts,
        tmp_path,
        steps=STEPS,
        generations=GENERATIONS,
        completion_length=16,
        learning_rate=1e-4,
    )

    assert trainer.state.global_step == STEPS
    assert reward.calls == STEPS and reward.failures == 0
    # every group played a real tournament: one per step, with the size TRL sampled
    assert len(reward.last) == 1 and reward.last[0] is not None
    played = reward.last[0]
    assert played.method == method and len(played.ranking) == GENERATIONS
    assert played.judge_calls >= 1 and played.completion_tokens > 0  # sampled, so distinct
    logged = [h for h in trainer.state.log_history if f"rewards/{reward.__name__}/mean" in h]
    assert len(logged) == STEPS
    assert all(0.0 <= h[f"rewards/{reward.__name__}/mean"] <= 1.0 for h in logged)
    # the rewards moved the policy: some weight changed
    after = dict(policy.named_parameters())
    assert any(not torch.equal(before[n], after[n].detach()) for n in before)
