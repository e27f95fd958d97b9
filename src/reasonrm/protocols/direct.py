"""The no-reasoning baseline ("DirectJudge"): the verdict alone, no analysis."""

from __future__ import annotations

import re

from reasonrm.protocols.rrm import RRMProtocol, box_verdict, last_box
from reasonrm.types import Verdict

SYSTEM_PROMPT = """You are an impartial judge. You will see a user's query and the responses of two AI assistants. Decide which assistant answered better: instruction fidelity first, then helpfulness, accuracy, detail and harmlessness; ignore the order and the length of the responses. Reply with the verdict only, \\boxed{Assistant 1} or \\boxed{Assistant 2}, and nothing else."""

INSTRUCTION = "Answer with \\boxed{Assistant 1} or \\boxed{Assistant 2} only, without explanation."

# Small models asked for the verdict alone often write a bare "Assistant 1": accept it
# when it opens the reply, nothing looser.
_BARE = re.compile(r"^\W*assistant\s*([12])\b", re.IGNORECASE)


class DirectProtocol(RRMProtocol):
    """RRM's layout with the verdict alone asked for."""

    name = "direct"
    description = "no reasoning: the verdict alone (the DirectJudge baseline)"
    verdict_cue = "\\boxed{Assistant"
    default_max_tokens = 16
    system_prompt = SYSTEM_PROMPT
    instruction = INSTRUCTION

    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        box = last_box(completion)
        if box is not None:
            return box_verdict(box)
        bare = _BARE.match(completion.strip())
        if bare:
            return Verdict("A" if bare.group(1) == "1" else "B")
        return self.missing_verdict(truncated)
