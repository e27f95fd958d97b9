"""What a judge and an engine are asked to do: two frozen specs that carry every option from
the command line, the server or Python to the judge and the engine, and are what a resumed
run compares.

An option is declared once, as a field here: its default, its check and its help text. The
command line builds its options from these fields (`reasonrm.cli.common.spec_options`), so a
field added here reaches every command that judges, the server, the resume check and Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from reasonrm.errors import InputError

Orders = Literal["auto", "random", "both", "fixed"]
ORDERS: tuple[str, ...] = ("auto", "random", "both", "fixed")
ENGINE_CHOICES: tuple[str, ...] = ("auto", "llamacpp", "openai", "transformers")
DTYPES: tuple[str, ...] = ("auto", "bfloat16", "float32", "float16")
SCORES: tuple[str, ...] = ("auto", "vote", "prob", "calibrated", "pointwise")
REFERENCES: tuple[str, ...] = ("none", "self")
REASONING_EFFORTS: tuple[str, ...] = ("low", "medium", "high")
TEMPLATE_HASH = "protocol_sha256"  # recorded beside a template file's path
EXAMPLES_HASH = "examples_sha256"  # and beside an examples file's


def option(help: str, *, choices: tuple[str, ...] = (), minimum: float | None = None) -> dict:
    """A field's command-line description: help text, the values it takes, its lower bound."""
    return {"help": help, "choices": choices, "min": minimum}


class _Spec:
    """The dict round trip and the checks both specs share."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        if not isinstance(d, dict):
            raise InputError(f"{cls.__name__} takes a JSON object, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(
                f"unknown {cls.__name__} field(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        return cls(**d)

    def replace(self, **changes: Any):
        return replace(self, **changes)  # type: ignore[type-var]

    def _check(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            meta = f.metadata
            if value is None:
                if f.default is not None:  # only fields that default to None may be None
                    raise InputError(f"{f.name} may not be null")
                continue
            if isinstance(value, str) and meta.get("choices") and value not in meta["choices"]:
                raise InputError(
                    f"{f.name} must be one of {', '.join(meta['choices'])}, got {value!r}"
                )
            if meta.get("min") is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputError(f"{f.name} must be a number, got {value!r}")
                if value < meta["min"]:
                    raise InputError(f"{f.name} must be at least {meta['min']}, got {value!r}")


@dataclass(frozen=True)
class JudgeSpec(_Spec):
    """How to judge a pair. Every field decides the results, so a resumed run must match it.

    orders="auto" (the default everywhere, Python and command line) judges a pair in both
    orders (A/B and B/A) when pairs are judged (`Judge.judge`, `judge_many`, `reasonrm
    judge`, the server's /v1/judge), one seeded random order per match in a tournament (rank,
    best-of-n, tournament rewards: n-1 or n(n-1)/2 matches already), and a benchmark's own
    rule in `reasonrm eval run` (one random order, JudgeBench both), as official scripts do.
    """

    protocol: str | Any = field(  # a name, or a Protocol object from Python
        default="rrm",
        metadata=option(
            "Prompt format: rrm | rm-r1 | rm-r1-distilled | direct, or a template file "
            "(.yaml/.json: a published judge's own prompt)."
        ),
    )
    votes: int = field(default=1, metadata=option("Samples per order; majority wins.", minimum=1))
    orders: str = field(
        default="auto",
        metadata=option(
            "auto: both orders wherever the score is prob (the default's: the two readings "
            "cancel the slot preference); otherwise both for a pair, one random order per "
            "tournament match, a benchmark's own rule in eval. random | both (A/B and B/A) | "
            "fixed (a first).",
            choices=ORDERS,
        ),
    )
    adaptive: bool = field(
        default=False, metadata=option("Stop voting once the leader cannot be overtaken.")
    )
    seed: int = field(default=0, metadata=option("Seeds order placement, sampling and brackets."))
    max_tokens: int | None = field(
        default=None,
        metadata=option("Token budget per sample (default: the protocol's).", minimum=1),
    )
    temperature: float | None = field(
        default=None,
        metadata=option(
            "Sampling temperature (default: 0 for one vote, 0.7 for several).", minimum=0
        ),
    )
    top_p: float = field(default=0.95, metadata=option("Nucleus sampling mass.", minimum=0))
    force_verdict: bool = field(
        default=True,
        metadata=option("Append the verdict cue when a sample ends without a verdict."),
    )
    force_tokens: int = field(
        default=16, metadata=option("Token budget of a forced verdict.", minimum=1)
    )
    reasoning_effort: str | None = field(
        default=None,
        metadata=option(
            "openai engine, thinking models: how much to think (the server's "
            "`reasoning_effort`: low, medium, high).",
            choices=REASONING_EFFORTS,
        ),
    )
    thinking_budget: int | None = field(
        default=None,
        metadata=option(
            "openai engine, thinking models: tokens the model may think before it must answer "
            "(sent as vLLM's `thinking_token_budget`).",
            minimum=1,
        ),
    )
    score: str = field(
        default="auto",
        metadata=option(
            "vote: the majority of sampled verdicts; prob: P(a better) read from the verdict "
            "token's probability in each order (p_a); calibrated: prob with the judge's "
            "slot prior (--calibration) removed; pointwise: each response rated 1-9 alone, "
            "p_a from the difference; auto: what was measured best for the model "
            "(prob for the embedded qwen2.5-1.5b with one vote, else vote).",
            choices=SCORES,
        ),
    )
    reason: bool = field(
        default=False,
        metadata=option(
            "prob/calibrated: let the judge write its reasoning first and read the verdict "
            "probability after it (default: read it right after the prompt)."
        ),
    )
    tie_band: float = field(
        default=0.0,
        metadata=option("prob/calibrated: |p_a - 0.5| at most this is a tie.", minimum=0),
    )
    slot_prior: float | None = field(
        default=None,
        metadata=option(
            "calibrated: the judge's first-slot log-odds to remove, from `reasonrm calibrate`."
        ),
    )

    reference: str = field(
        default="none",
        metadata=option(
            "self: the judge first answers the prompt alone (once per prompt) and judges "
            "with its answer shown as a reference; none: only a row's own `reference`.",
            choices=REFERENCES,
        ),
    )
    reference_tokens: int = field(
        default=512, metadata=option("Token budget of a reference=self answer.", minimum=1)
    )
    examples: str = field(
        default="none",
        metadata=option(
            "Worked examples shown before each pair (few-shot): none; general (built in: "
            "four everyday pairs); or a JSONL file of labelled pairs (chosen/rejected, or "
            "a/b with label), shown with the better response in alternate slots."
        ),
    )

    verify: str = field(
        default="auto",
        metadata=option(
            "Checks before the reading: auto (run the responses' code on tests, compute the "
            "answer of a math problem, wherever a pair is such a task), off, or verifier names "
            "(code,math). A conclusive check decides the pair (p_a 0.99 or 0.01, with its "
            "evidence); otherwise --score reads it."
        ),
    )
    sandbox: str = field(
        default="local",
        metadata=option(
            "Where response code runs: local (this machine, in bubblewrap's namespaces; "
            "where they do not work, checks run nothing), local-unisolated (resource limits "
            "only: code you trust), or the URL of a SandboxFusion service "
            "(pip install 'reasonrm[sandbox-fusion]')."
        ),
    )
    verify_samples: int = field(
        default=4,
        metadata=option(
            "Programs (and sets of tests) the judge writes per prompt for a check; the first "
            "greedy, the rest sampled.",
            minimum=1,
        ),
    )

    def __post_init__(self) -> None:
        from reasonrm.protocols import Protocol, get_protocol
        from reasonrm.verify import verifier_names

        if not isinstance(self.protocol, str | Protocol):
            raise InputError(f"protocol must be a name or a Protocol, got {self.protocol!r}")
        self._check()
        if not 0 < self.top_p <= 1:
            raise InputError(f"top_p must be in (0, 1], got {self.top_p!r}")
        protocol = get_protocol(self.protocol)  # an unknown name lists the known ones
        verifier_names(self.verify)  # an unknown verifier lists the known ones
        if self.sandbox not in ("local", "local-unisolated") and not self.sandbox.startswith(
            ("http://", "https://")
        ):
            raise InputError(
                "sandbox must be local, local-unisolated or a SandboxFusion URL (http://...), "
                f"got {self.sandbox!r}"
            )
        if getattr(protocol, "kind", "pairwise") == "pointwise" and self.score not in (
            "pointwise",
            "auto",
        ):
            raise InputError(
                f"{self.protocol} is a pointwise template: it rates one response at a time; "
                "use score='pointwise'"
            )
        if self.score not in ("vote", "auto"):
            self._check_scoring(protocol)
        if self.examples != "none":
            self._check_examples(protocol)

    def _check_examples(self, protocol: Any) -> None:
        """Examples are pairs answered with a bare verdict: the protocol must write one, and
        the file must hold labelled pairs (read now, not at the first judgment)."""
        from reasonrm.examples import example_turns, load_examples

        if self.score == "pointwise":
            raise InputError("examples show pairs and their verdicts: not for score='pointwise'")
        if self.score == "calibrated":  # `reasonrm calibrate` measures the prior without them
            raise InputError(
                "a slot prior is measured without examples, so score='calibrated' takes none: "
                "use score='prob', which reads both orders"
            )
        example_turns(protocol, load_examples(self.examples))

    def _check_scoring(self, protocol: Any) -> None:
        """What probability scoring needs: labels to read, and options that mean something."""
        if self.score == "pointwise":  # its own prompt: one response, no verdict labels
            if self.votes > 1 or self.reason or self.adaptive:
                raise InputError(
                    "score='pointwise' reads one rating per response: no votes, reason or adaptive"
                )
        else:
            protocol.score_prefix(None)  # refuses a protocol without verdict labels
        if not self.tie_band < 0.5:
            raise InputError(f"tie_band must be below 0.5, got {self.tie_band!r}")
        if self.votes > 1 and not self.reason:
            raise InputError(
                f"score={self.score!r} without reason reads one probability per order: "
                "votes > 1 needs reason=True (one chain per vote)"
            )
        if self.adaptive:
            raise InputError("adaptive stopping applies to score='vote' only")
        if self.score == "calibrated" and self.slot_prior is None:
            raise InputError(
                "score='calibrated' needs the judge's slot prior: measure it with "
                "`reasonrm calibrate` and pass --calibration FILE (or --slot-prior)"
            )

    def to_dict(self) -> dict[str, Any]:
        from reasonrm.examples import file_sha256
        from reasonrm.protocols import get_protocol

        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if not isinstance(self.protocol, str):  # a Protocol object (Python only)
            d["protocol"] = self.protocol.name
        sha256 = getattr(get_protocol(self.protocol), "sha256", None)
        if sha256 is not None:  # a template file: resuming with an edited one is refused
            d[TEMPLATE_HASH] = sha256
        examples_sha256 = file_sha256(self.examples)
        if examples_sha256 is not None:  # the same for an examples file
            d[EXAMPLES_HASH] = examples_sha256
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JudgeSpec:
        d = dict(d) if isinstance(d, dict) else d
        if isinstance(d, dict):
            d.pop(TEMPLATE_HASH, None)  # derived from the files, not settings
            d.pop(EXAMPLES_HASH, None)
        return super().from_dict(d)

    def resolve_score(self, model: str | None) -> JudgeSpec:
        """This spec with score="auto" replaced by the mode measured best for `model` (a
        registry name; None or another name: not measured): prob for the embedded qwen2.5-1.5b, where
        one vote reads the verdict's probability; vote where the options ask for sampling
        (several votes, adaptive stopping, --reason aside), the protocol has no labels, or
        the model is not one we measured."""
        if self.score != "auto":
            return self
        from reasonrm.models import REGISTRY
        from reasonrm.protocols import get_protocol

        if getattr(get_protocol(self.protocol), "kind", "pairwise") == "pointwise":
            return replace(self, score="pointwise")

        measured = REGISTRY.get(model or "")
        wants_prob = measured is not None and measured.score == "prob"
        samples = (self.votes > 1 and not self.reason) or self.adaptive
        labelled = get_protocol(self.protocol).labels is not None
        return replace(self, score="prob" if wants_prob and labelled and not samples else "vote")

    def resolve_auto(self, model: str | None, orders: str) -> JudgeSpec:
        """Both "auto" fields resolved for `model`: the score first, then the orders, which
        are `orders` for a voting judge and both for a probability judge (one order would
        leave its slot prior in p_a, and a second order costs one more prefill)."""
        spec = self.resolve_score(model)
        return spec.resolve_orders("both" if spec.score == "prob" else orders)

    def resolve_orders(self, auto: str) -> JudgeSpec:
        """This spec with orders="auto" replaced by what the caller does (`auto`)."""
        return self if self.orders != "auto" else replace(self, orders=auto)


@dataclass(frozen=True)
class EngineSpec(_Spec):
    """Which model generates, and how. Only `engine`, `model` and a transformers engine's
    `dtype` decide the results (`result_settings`); the rest are where and how fast."""

    engine: str = field(
        default="auto",
        metadata=option(
            "Generation backend; auto: openai with --base-url, transformers for a "
            "checkpoint folder, else llamacpp.",
            choices=ENGINE_CHOICES,
        ),
    )
    model: str | None = field(
        default=None,
        metadata=option(
            "Registry name, .gguf path, checkpoint folder or served model "
            "(default: the embedded qwen2.5-1.5b)."
        ),
    )
    base_url: str | None = field(
        default=None,
        metadata=option(
            "openai engine: server URL, e.g. http://127.0.0.1:8000/v1; several, "
            "comma-separated, spread requests over replicas."
        ),
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata=option("openai engine: environment variable holding the API key."),
    )
    concurrency: int = field(
        default=16, metadata=option("openai engine: requests in flight per server URL.", minimum=1)
    )
    parallel: int = field(
        default=8,
        metadata=option(
            "llamacpp engine: parallel slots; transformers engine: batch size.", minimum=1
        ),
    )
    context: int = field(
        default=8192, metadata=option("llamacpp engine: context tokens per slot.", minimum=1)
    )
    threads: int | None = field(
        default=None,
        metadata=option("llamacpp engine: CPU threads (default: every core).", minimum=1),
    )
    dtype: str = field(
        default="auto",
        metadata=option(
            "transformers engine: weight precision; auto: bfloat16 for checkpoint folders, "
            "float32 for .gguf files.",
            choices=DTYPES,
        ),
    )
    device: str = field(
        default="auto",
        metadata=option(
            "transformers engine: where the model runs (cpu, cuda, cuda:1, mps); auto: "
            "the GPU when torch sees one, else cpu."
        ),
    )

    def __post_init__(self) -> None:
        self._check()
        engine = self.resolved().engine
        if self.device != "auto" and engine != "transformers":  # never silently ignored
            raise InputError(
                f"device is for the transformers engine; the {engine} engine runs where its "
                "build or server runs (drop --device, or use --engine transformers)"
            )

    def resolved(self) -> EngineSpec:
        """The spec with engine="auto" replaced by the backend it means."""
        if self.engine != "auto":
            return self
        if self.base_url:
            engine = "openai"
        elif self.model and Path(self.model).expanduser().is_dir():
            engine = "transformers"
        else:
            engine = "llamacpp"
        return replace(self, engine=engine)

    def judged_model(self) -> str | None:
        """The registry name of the judging model where it is known: llama.cpp without a
        model runs the embedded default; a server serves whatever it serves."""
        from reasonrm.models import DEFAULT_MODEL

        return self.model or (DEFAULT_MODEL if self.resolved().engine == "llamacpp" else None)

    def result_settings(self) -> dict[str, Any]:
        """What decides the results: the backend (resolved), the model, and for transformers
        the precision (in bfloat16 a small model's two verdict labels can tie exactly)."""
        engine = self.resolved().engine
        precision = {"dtype": self.resolved_dtype()} if engine == "transformers" else {}
        return {"engine": engine, "model": self.model} | precision

    def resolved_dtype(self) -> str:
        """The precision the transformers engine loads: "auto" replaced by what it means for
        this model, so that a run records float32 or bfloat16, never "auto"."""
        if self.dtype != "auto" or not self.model:
            return self.dtype
        from reasonrm.models import auto_dtype

        return auto_dtype(self.model)


def run_settings(judge: JudgeSpec | None, engine: EngineSpec, **extra: Any) -> dict[str, Any]:
    """The settings a resumable output records and a resumed run must match."""
    return (judge.to_dict() if judge else {}) | engine.result_settings() | extra
