"""Which completions a group-relative reward ranks together, and how each group's tournament
is seeded. One rule for TournamentReward, the client's remote TRL reward and the server's
/get_reward, so the three rank the same groups with the same brackets."""

from __future__ import annotations

import json
from typing import Any

from reasonrm.errors import InputError

# Every member of a group whose tournament failed gets this: equal rewards within a group
# give zero advantages, so a failed group does not steer the policy.
FAILURE_REWARD = 0.5


def prompt_key(prompt: Any) -> str:
    """Equal prompts (text or message list) have equal keys."""
    return json.dumps(prompt, sort_keys=True, default=str)


def group_by_prompt(prompts: list[Any], rows: Any = None) -> list[list[int]]:
    """`rows` (default: all) grouped by equal prompt (text or message list), groups in order
    of first appearance."""
    by_prompt: dict[str, list[int]] = {}
    for i in range(len(prompts)) if rows is None else rows:
        by_prompt.setdefault(prompt_key(prompts[i]), []).append(i)
    return list(by_prompt.values())


def generation_groups(
    prompts: list[Any], num_generations: int | None, rows: Any = None
) -> list[list[int]]:
    """`rows` (default: all) as the groups a group-relative reward ranks: with
    `num_generations`, TRL's consecutive runs of that size, each checked to share one
    prompt; without, `group_by_prompt`."""
    rows = list(range(len(prompts))) if rows is None else list(rows)
    size = num_generations
    if size is None:
        return group_by_prompt(prompts, rows)
    if len(rows) % size:
        raise InputError(f"{len(rows)} completions do not split into groups of {size}")
    groups = [rows[k : k + size] for k in range(0, len(rows), size)]
    for g in groups:
        if len({prompt_key(prompts[i]) for i in g}) != 1:
            raise InputError(
                f"completions {g[0]}-{g[-1]} should share one prompt (groups of "
                f"num_generations={size} in TRL's order); pass num_generations=None to "
                "group by prompt instead"
            )
    return groups


def bracket_seed(seed: Any, call: int, group: int) -> str:
    """A tournament's seed within a reward call: brackets differ from call to call and
    group to group, and a rerun from the start repeats them."""
    return f"{seed}|{call}|{group}"
