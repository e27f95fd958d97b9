"""Rewards for RL, in one place for training, the server and the client:

- `verdict_rule`: the verifiable reward for training a judge (+1 for the labelled verdict,
  -1 otherwise; RM-R1's strict rule, a format bonus);
- `verdict`: its adapters for TRL, verl and OpenRLHF (the file verl and OpenRLHF load by path);
- `consistency`: J1's both-order rule (+1 only when the pair's other order is right too),
  and the agreement rate GRPO logs;
- `tournament`: `TournamentReward`, group-relative rewards for a policy from a judge's
  tournament among each prompt's completions;
- `verified`: `VerifiedReward`, each code or math completion checked alone (tests run,
  answer computed), for prompts without a reference answer;
- `groups`: which completions form a group, and each group's bracket seed;
- `mixed`: a batch mixing rows judged against a reference and rows ranked in groups
  (the rules of the server's /get_reward and the client's remote TRL reward);
- `completions`: the text to score, out of what a trainer passes.
"""

from reasonrm.rewards.completions import response_of, text_of
from reasonrm.rewards.consistency import (
    BothOrderAgreement,
    ConsistentVerdictReward,
    agreement,
    consistent_rewards,
)
from reasonrm.rewards.groups import (
    FAILURE_REWARD,
    bracket_seed,
    generation_groups,
    group_by_prompt,
    prompt_key,
)
from reasonrm.rewards.mixed import (
    REWARD_VS_REFERENCE,
    SCORE_VS_REFERENCE,
    BatchRewards,
    batch_rewards,
    reference_rows,
)
from reasonrm.rewards.tournament import TournamentReward
from reasonrm.rewards.verdict import (
    VerdictReward,
    compute_score,
    compute_score_batch,
    make_verdict_reward,
    reward_func,
    verdict_reward,
)
from reasonrm.rewards.verdict_rule import (
    RewardDetail,
    RewardRule,
    check_label,
    score_completions,
)
from reasonrm.rewards.verified import VerifiedReward

__all__ = [
    "BothOrderAgreement",
    "ConsistentVerdictReward",
    "agreement",
    "consistent_rewards",
    "compute_score_batch",
    "score_completions",
    "FAILURE_REWARD",
    "REWARD_VS_REFERENCE",
    "SCORE_VS_REFERENCE",
    "BatchRewards",
    "RewardDetail",
    "RewardRule",
    "TournamentReward",
    "VerifiedReward",
    "VerdictReward",
    "batch_rewards",
    "bracket_seed",
    "check_label",
    "compute_score",
    "generation_groups",
    "group_by_prompt",
    "make_verdict_reward",
    "prompt_key",
    "reference_rows",
    "response_of",
    "reward_func",
    "text_of",
    "verdict_reward",
]
