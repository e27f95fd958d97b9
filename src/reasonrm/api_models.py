"""The HTTP API's request and response bodies. Only pydantic is needed to import this
module: the server (`reasonrm.server`) and the client (`reasonrm.client`) share these models.

POST /v1/judge   JudgeRequest  -> JudgeResponse
POST /v1/rank    RankRequest   -> RankResponse
POST /get_reward RewardRequest -> RewardResponse   (OpenRLHF's remote reward model)
GET  /v1/models  -> ModelList;  GET /health -> Health;  errors -> {"detail": "..."}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from reasonrm.ranking import Method


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


Prompt = str | list[ChatMessage]


def prompt_value(prompt: Prompt) -> str | list[dict[str, str]]:
    """A prompt as `Comparison` and `Ranker` take it."""
    if isinstance(prompt, str):
        return prompt
    return [{"role": m.role, "content": m.content} for m in prompt]


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt
    a: str
    b: str


class JudgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pairs: list[Pair] = Field(min_length=1)
    reasoning: bool = False  # return each vote's text


class Votes(BaseModel):
    A: int
    B: int


class PairJudgment(BaseModel):
    """winner: the majority of valid votes ("A": response a), null on a tie, when no vote
    was valid, or when the pair failed (`error` says why); with a server that scores
    probabilities (--score prob), the side `p_a` favours. `p_a`: P(a is better), and
    `margin` = 2·p_a − 1, null when the judge votes. `reasoning`: the votes' texts, present
    only when the request asked for it. A pair a check decided (`decided_by`) has p_a 0.99
    or 0.01 and no votes."""

    winner: Literal["A", "B"] | None
    votes: Votes
    valid: int
    invalid: int
    p_a: float | None = None
    margin: float | None = None
    reasoning: list[str] | None = None
    error: str | None = None
    #: verified judging: the check that decided the pair ("code", "math"), or null
    decided_by: str | None = None
    #: what each check that applied found: verifier, winner (null: no decision), summary;
    #: with `details` (tests, results, the judge's programs) when the request asked for reasoning
    evidence: list[dict[str, Any]] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _reasoning_only_if_asked(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if self.reasoning is None:
            data.pop("reasoning", None)
        return data


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class JudgeResponse(BaseModel):
    judgments: list[PairJudgment]
    model: str
    usage: Usage


class RankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt
    responses: list[str] = Field(min_length=1)
    method: Method = "knockout"  # "knockout": n-1 matches; "elo": the round robin
    # seeds the bracket, byes, tie-breaks and Elo replay order; None: the server's --seed
    seed: int | str | None = None


class RankResponse(BaseModel):
    """ranking: indices into `responses`, best first; scores and rewards per response
    (as `reasonrm.ranking.Ranking` gives them: rewards in [0, 1], higher is better)."""

    method: Method
    ranking: list[int]
    best: int
    scores: list[float]
    rewards: list[float]
    matches: int
    judge_calls: int
    model: str
    usage: Usage


class RewardRequest(BaseModel):
    """OpenRLHF's remote reward model request: `query[i]` is `prompts[i]` followed by the
    policy's response; `labels[i]` a reference answer, or empty. Other fields are ignored."""

    query: list[str] = Field(min_length=1)
    prompts: list[str]
    labels: list[str | None] | None = None


class RewardResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    owned_by: str = "reasonrm"
    protocol: str
    votes: int
    orders: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Health(BaseModel):
    status: str  # "ok", "shutting down" or "engine unavailable"
    model: str
    queue_depth: int
    jobs_running: int
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"
