"""The data that crosses module boundaries: small frozen dataclasses with a JSON round-trip."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from reasonrm.errors import InputError

Message = dict[str, str]
Label = Literal["A", "B"]
Order = Literal["AB", "BA"]
ROLES = ("system", "user", "assistant")


def _check_text(name: str, value: Any, allow_empty: bool = False) -> None:
    if not isinstance(value, str):
        raise InputError(f"field '{name}' must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InputError(f"field '{name}' is empty")


def check_messages(messages: Any, name: str = "prompt") -> tuple[Message, ...]:
    """Validate a conversation (list of {"role", "content"}) and return it as a tuple."""
    if not isinstance(messages, list | tuple) or not messages:
        raise InputError(f"field '{name}' must be a non-empty string or list of messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise InputError(f"{name}[{i}] must be an object with 'role' and 'content'")
        if m["role"] not in ROLES:
            raise InputError(
                f"{name}[{i}].role must be one of {', '.join(ROLES)}, got {m['role']!r}"
            )
        if not isinstance(m["content"], str):
            raise InputError(f"{name}[{i}].content must be a string")
        out.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "user" and m["content"].strip() for m in out):
        raise InputError(f"field '{name}' has no non-empty user message")
    return tuple(out)


@dataclass(frozen=True)
class Comparison:
    """Two responses to one prompt; `label` names the better one when it is known."""

    prompt: str | tuple[Message, ...]
    a: str
    b: str
    label: Label | None = None
    id: str | None = None
    #: a reference answer shown to the judge (MT-Bench's reference-guided grading, or the
    #: judge's own answer with reference="self")
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.reference is not None:
            _check_text("reference", self.reference)
        if isinstance(self.prompt, str):
            _check_text("prompt", self.prompt)
        else:
            object.__setattr__(self, "prompt", check_messages(self.prompt))
        # an empty response is real data: a policy can stop at once (PandaLM has 54), and it
        # should lose rather than crash a reward call
        _check_text("a", self.a, allow_empty=True)
        _check_text("b", self.b, allow_empty=True)
        if self.label not in (None, "A", "B"):
            raise InputError(f"field 'label' must be 'A', 'B' or null, got {self.label!r}")

    @property
    def messages(self) -> list[Message]:
        """The conversation before the responses, as a message list."""
        if isinstance(self.prompt, str):
            return [{"role": "user", "content": self.prompt}]
        return [dict(m) for m in self.prompt]

    def swapped(self) -> Comparison:
        """The same comparison with the responses in the other slots (label follows)."""
        label = {"A": "B", "B": "A", None: None}[self.label]
        return replace(self, a=self.b, b=self.a, label=label)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if not isinstance(self.prompt, str):
            d["prompt"] = [dict(m) for m in self.prompt]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Comparison:
        missing = [k for k in ("prompt", "a", "b") if k not in d]
        if missing:
            raise InputError(f"missing field(s): {', '.join(missing)}")
        return cls(
            prompt=d["prompt"],
            a=d["a"],
            b=d["b"],
            label=d.get("label"),
            id=d.get("id"),
            reference=d.get("reference"),
        )


@dataclass(frozen=True)
class Verdict:
    """A parsed completion: a winner, or None with the reason it is invalid."""

    winner: Label | None
    invalid_reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.winner is not None

    def flipped(self) -> Verdict:
        """Map a verdict on a swapped comparison back to the original slots."""
        if self.winner is None:
            return self
        return replace(self, winner="B" if self.winner == "A" else "A")


def shown_first_won(sample: dict[str, Any]) -> bool | None:
    """Whether a judged sample's verdict (a row's sample, mapped back to the caller's A/B)
    went to the response shown first: a won with a first, or b won with b first."""
    if sample.get("verdict") is None:
        return None
    return (sample["order"] == "AB") == (sample["verdict"] == "A")


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    grammar: str | None = None  # GBNF; honoured by llama.cpp engines, ignored elsewhere
    reasoning_effort: str | None = None  # thinking models behind the openai engine
    thinking_budget: int | None = None  # vLLM's thinking_token_budget: tokens to think at most

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise InputError("max_tokens must be at least 1")
        if self.n < 1:
            raise InputError("n must be at least 1")
        if self.temperature < 0:
            raise InputError("temperature must be >= 0")


@dataclass(frozen=True)
class Sample:
    """One generation from an engine."""

    text: str
    completion_tokens: int
    prompt_tokens: int
    finish_reason: Literal["stop", "length"]
    seconds: float
    #: a thinking model's chain, where the server returns it apart from the content
    #: (vLLM's `reasoning`, SGLang's and llama.cpp's `reasoning_content`)
    reasoning: str | None = None


@dataclass(frozen=True)
class NextToken:
    """The likeliest next tokens after a chat (its last assistant message continued), each
    with its log-probability: what probability scoring reads instead of sampling."""

    logprobs: dict[str, float]
    prompt_tokens: int
    seconds: float
    cached_tokens: int = 0  # prompt tokens the engine reused from its cache, not evaluated


@dataclass(frozen=True)
class JudgedSample:
    """One vote: the engine's text, its verdict mapped back to the caller's A/B, and its cost."""

    text: str
    verdict: Verdict
    order: Order  # "AB": response a was shown first; "BA": shown second
    completion_tokens: int
    prompt_tokens: int
    finish_reason: str
    seconds: float
    forced: bool = False  # the verdict cue was appended after the token budget ran out
    #: probability scoring: P(first slot) at the verdict position, as the model gave it
    p_first: float | None = None
    cached_tokens: int = 0  # of prompt_tokens, those the engine reused from its prompt cache
    rating: float | None = None  # pointwise: the response's rating, 1 to 9
    reasoning: str | None = None  # a thinking model's chain, returned apart from `text`


@dataclass(frozen=True)
class Evidence:
    """What one verifier did for one pair: its decision (None: inconclusive), a line for
    people, and the details (tests and each response's results, the judge's program and
    answer) as JSON-ready data."""

    verifier: str
    winner: Label | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    completion_tokens: int = 0  # what the judge generated for the check (tests, programs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verifier": self.verifier,
            "winner": self.winner,
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
            "completion_tokens": self.completion_tokens,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(
            verifier=d["verifier"],
            winner=d.get("winner"),
            summary=d.get("summary", ""),
            details=d.get("details") or {},
            seconds=d.get("seconds", 0.0),
            completion_tokens=d.get("completion_tokens", 0),
        )


@dataclass
class Judgment:
    """The outcome of judging one comparison."""

    winner: Label | None
    votes: dict[str, int]
    samples: list[JudgedSample] = field(default_factory=list)
    orders_agree: bool | None = None  # only when both orders were judged
    comparison_id: str | None = None
    label: Label | None = None
    error: str | None = None
    #: probability scoring: P(a is better), from both orders' verdict probabilities
    p_a: float | None = None
    #: reference="self": the judge's own answer it judged against, and the tokens it cost
    #: here (0 when another judgment of the same prompt already paid for it)
    reference: str | None = None
    reference_tokens: int = 0
    #: verified judging: what each check that applied found (a conclusive one decided)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def decided_by(self) -> str | None:
        """The check that decided this pair ("code", "math"), or None: the judge's reading."""
        winners = {e.winner for e in self.evidence if e.winner is not None}
        if len(winners) != 1 or winners.pop() != self.winner:
            return None
        return next(e.verifier for e in self.evidence if e.winner is not None)

    @property
    def margin(self) -> float | None:
        """2·p_a − 1: from −1 (b surely better) to +1 (a surely better); None without p_a."""
        return None if self.p_a is None else 2 * self.p_a - 1

    @property
    def completion_tokens(self) -> int:
        checks = sum(e.completion_tokens for e in self.evidence)
        return sum(s.completion_tokens for s in self.samples) + self.reference_tokens + checks

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.samples)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.samples) + sum(e.seconds for e in self.evidence)

    @property
    def correct(self) -> bool | None:
        """Whether the winner matches the known label (None when there is no label)."""
        return None if self.label is None else self.winner == self.label

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.comparison_id,
            "winner": self.winner,
            "votes": dict(self.votes),
            "orders_agree": self.orders_agree,
            "label": self.label,
            "correct": self.correct,
            "p_a": None if self.p_a is None else round(self.p_a, 6),
            "margin": None if self.margin is None else round(self.margin, 6),
            "reference": self.reference,
            "reference_tokens": self.reference_tokens,
            "error": self.error,
            "decided_by": self.decided_by,
            "evidence": [e.to_dict() for e in self.evidence],
            "completion_tokens": self.completion_tokens,
            "prompt_tokens": self.prompt_tokens,
            "seconds": round(self.seconds, 3),
            "samples": [
                {
                    "text": s.text,
                    "verdict": s.verdict.winner,
                    "invalid_reason": s.verdict.invalid_reason,
                    "order": s.order,
                    "completion_tokens": s.completion_tokens,
                    "prompt_tokens": s.prompt_tokens,
                    "finish_reason": s.finish_reason,
                    "seconds": round(s.seconds, 3),
                    "forced": s.forced,
                    "p_first": None if s.p_first is None else round(s.p_first, 6),
                    "cached_tokens": s.cached_tokens,
                    "rating": None if s.rating is None else round(s.rating, 6),
                }
                | ({"reasoning": s.reasoning} if s.reasoning is not None else {})
                for s in self.samples
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Judgment:
        samples = [
            JudgedSample(
                text=s["text"],
                verdict=Verdict(s["verdict"], s.get("invalid_reason")),
                order=s["order"],
                completion_tokens=s["completion_tokens"],
                prompt_tokens=s["prompt_tokens"],
                finish_reason=s["finish_reason"],
                seconds=s["seconds"],
                forced=s.get("forced", False),
                p_first=s.get("p_first"),
                cached_tokens=s.get("cached_tokens", 0),
                rating=s.get("rating"),
                reasoning=s.get("reasoning"),
            )
            for s in d.get("samples", [])
        ]
        return cls(
            winner=d["winner"],
            votes=dict(d["votes"]),
            samples=samples,
            orders_agree=d.get("orders_agree"),
            comparison_id=d.get("id"),
            label=d.get("label"),
            error=d.get("error"),
            p_a=d.get("p_a"),
            reference=d.get("reference"),
            reference_tokens=d.get("reference_tokens", 0),
            evidence=[Evidence.from_dict(e) for e in d.get("evidence") or []],
        )
