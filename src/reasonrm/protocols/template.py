"""A protocol from the user's own file: any judge's prompt, verbatim, without reasonrm
shipping its text. A judge trained on its authors' exact prompt scores best with it.

A YAML (or JSON) mapping:

    name: my-judge                 # optional; default: the file's name without suffix
    system: "…"                    # optional system prompt
    user: "… {question} … {a} … {b}"   # the user turn
    verdict:
      pattern: '\\boxed\\{Assistant ([12])\\}'   # one capturing group: the label
      labels: {"1": A, "2": B}     # what each captured label means: slot A or slot B
    verdict_cue: "\\n\\nFinal verdict: \\boxed{Assistant"   # forcing; optional
    answer_prefix: "\\boxed{Assistant "   # probability scoring: the text before the label
    answer_suffix: "}"             # what closes a verdict after its label
    max_tokens: 1024               # optional default budget

A pointwise template (`kind: pointwise`) rates one response at a time, with no position at
all: its user turn shows `{response}` instead of `{a}` and `{b}`, and instead of `verdict`
it has `rating: {prefix: "Rating: ", labels: [1, 2, 3, 4, 5]}`: the rating is the labels'
mean weighted by their probabilities after the prefix (`--score pointwise`; each label must
be one token for the model, checked at start-up).

Placeholders in `system` and `user`: `{question}` (the prompt, or for a conversation its
last user message), `{conversation}` (earlier turns as "User: …" / "Assistant: …" lines;
empty for one turn), `{a}` and `{b}` (the responses in the first and second slot), and
`{reference}` (a reference answer; empty when the row has none). Literal braces are
doubled, as in Python's `str.format`. The last match of the pattern is the verdict;
completions with no match are `no verdict` (forced when `verdict_cue` is set).

Errors name the file and the field: an unknown placeholder, a user template without {a}
and {b}, a pattern that does not compile or has no group, labels that do not cover both
slots. `sha256` is the file's content hash; runs record it, so resuming with an edited
template is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from pathlib import Path
from typing import Any

import yaml

from reasonrm.errors import InputError
from reasonrm.protocols.base import Protocol, conversation_lines
from reasonrm.types import Comparison, Message, Verdict

PLACEHOLDERS = {"question", "conversation", "a", "b", "reference", "response"}
KINDS = ("pairwise", "pointwise")
FIELDS = {
    "kind",
    "rating",
    "name",
    "description",
    "system",
    "user",
    "verdict",
    "verdict_cue",
    "answer_prefix",
    "answer_suffix",
    "max_tokens",
}
SUFFIXES = (".yaml", ".yml", ".json")


def looks_like_file(name: str) -> bool:
    return name.endswith(SUFFIXES) or "/" in name


def _placeholders(text: str, where: str) -> set[str]:
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as e:
        raise InputError(
            f"{where}: not a valid template ({e}); write literal braces as {{{{ and }}}}"
        ) from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise InputError(
            f"{where}: unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
            f"known: {', '.join('{' + n + '}' for n in sorted(PLACEHOLDERS))}"
        )
    return names


class TemplateProtocol(Protocol):
    """A pairwise protocol read from a template file (see the module's docstring)."""

    def __init__(self, spec: dict[str, Any], source: str, sha256: str) -> None:
        where = source
        unknown = sorted(set(spec) - FIELDS)
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}")
        self.source, self.sha256 = source, sha256
        self.name = str(spec.get("name") or Path(source).stem)
        self.description = str(spec.get("description") or f"template {source}")
        self.system = spec.get("system")
        self.user = spec.get("user")
        if not isinstance(self.user, str) or not self.user.strip():
            raise InputError(f"{where}: field 'user' (the user turn's template) is required")
        found = _placeholders(self.user, f"{where}: user")
        if self.system is not None:
            if not isinstance(self.system, str):
                raise InputError(f"{where}: field 'system' must be text")
            found |= _placeholders(self.system, f"{where}: system")
        self.kind = spec.get("kind", "pairwise")
        if self.kind not in KINDS:
            raise InputError(f"{where}: kind must be pairwise or pointwise, got {self.kind!r}")
        if self.kind == "pointwise":
            self._pointwise(spec, found, where)
            return
        missing = sorted({"a", "b"} - found)
        if missing or "response" in found:
            shown = ", ".join("{" + m + "}" for m in missing) or "{a}, {b}"
            raise InputError(
                f"{where}: the templates never show {shown}: a pairwise judge must see both "
                "responses ({response} is for kind: pointwise)"
            )
        self._pattern, self._labels = self._verdict(spec.get("verdict"), where)
        self.verdict_cue = str(spec.get("verdict_cue") or "")
        self.default_max_tokens = int(spec.get("max_tokens") or 1024)
        prefix, suffix = spec.get("answer_prefix"), spec.get("answer_suffix")
        if prefix is not None:
            self.answer_prefix, self.verdict_open = str(prefix), str(prefix)
            self.labels = (self._label_for("A"), self._label_for("B"))
            self.answer_suffix = None if suffix is None else str(suffix)

    def _pointwise(self, spec: dict[str, Any], found: set[str], where: str) -> None:
        """A rating template: one {response}, and the labels read after the prefix."""
        from reasonrm.protocols.pointwise import RatingFormat

        if "response" not in found or found & {"a", "b"}:
            raise InputError(
                f"{where}: a pointwise template shows one {{response}} and no {{a}} or {{b}}"
            )
        rating = spec.get("rating")
        if not isinstance(rating, dict) or not rating.get("prefix") or not rating.get("labels"):
            raise InputError(
                f"{where}: field 'rating' needs 'prefix' (the text before the rating) and "
                "'labels' (the ratings, each one token: e.g. 1 to 9)"
            )
        labels = tuple(str(label) for label in rating["labels"])
        try:
            [float(label) for label in labels]
        except ValueError:
            raise InputError(f"{where}: rating.labels must be numbers, got {labels}") from None
        self.rating = RatingFormat(self._rating_chat, str(rating["prefix"]), labels)
        self.verdict_cue, self.default_max_tokens = "", 16

    def _rating_chat(self, c: Comparison, response: str) -> list[Message]:
        values = self._values(c) | {"response": response}
        chat: list[Message] = []
        if self.system:
            chat.append({"role": "system", "content": self.system.format(**values)})
        chat.append({"role": "user", "content": self.user.format(**values)})
        chat.append({"role": "assistant", "content": self.rating.prefix})
        return chat

    def _pairwise_only(self) -> None:
        if self.kind == "pointwise":
            raise InputError(
                f"{self.source} is a pointwise template: it rates one response at a time; "
                "judge with score='pointwise' (--score pointwise)"
            )

    @staticmethod
    def _verdict(value: Any, where: str) -> tuple[re.Pattern, dict[str, str]]:
        if not isinstance(value, dict) or "pattern" not in value or "labels" not in value:
            raise InputError(
                f"{where}: field 'verdict' needs 'pattern' (a regular expression with one "
                "group) and 'labels' (what each captured text means: A or B)"
            )
        try:
            pattern = re.compile(str(value["pattern"]))
        except re.error as e:
            raise InputError(f"{where}: verdict.pattern does not compile: {e}") from None
        if pattern.groups != 1:
            raise InputError(
                f"{where}: verdict.pattern must have exactly one capturing group (the label), "
                f"it has {pattern.groups}"
            )
        labels = value["labels"]
        if not isinstance(labels, dict) or not labels:
            raise InputError(f"{where}: verdict.labels must map captured text to A or B")
        labels = {str(k): str(v) for k, v in labels.items()}
        if set(labels.values()) != {"A", "B"}:
            raise InputError(
                f"{where}: verdict.labels must map to both A and B and nothing else, got "
                f"{sorted(set(labels.values()))}"
            )
        return pattern, labels

    @property
    def ref(self) -> str:
        return self.source

    def _label_for(self, slot: str) -> str:
        return next(text for text, meant in self._labels.items() if meant == slot)

    @classmethod
    def from_file(cls, path: str | Path) -> TemplateProtocol:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(f"no such protocol template: {file}")
        raw = file.read_bytes()
        try:
            text = raw.decode("utf-8")
            spec = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
            raise InputError(f"{file}: not a valid template file ({e})") from None
        if not isinstance(spec, dict):
            raise InputError(f"{file}: a template is a mapping of fields (name, system, user, …)")
        return cls(spec, str(path), hashlib.sha256(raw).hexdigest())

    def _values(self, c: Comparison) -> dict[str, str]:
        """What the placeholders stand for ({response} is filled by the rating chat)."""
        if isinstance(c.prompt, str):
            question, earlier = c.prompt, []
        else:
            messages = list(c.prompt)
            last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
            question, earlier = messages[last_user]["content"], messages[:last_user]
        return {
            "question": question,
            "conversation": "\n".join(conversation_lines(earlier, "Assistant")),
            "a": c.a,
            "b": c.b,
            "reference": c.reference or "",
            "response": "",
        }

    def render(self, c: Comparison) -> list[Message]:
        self._pairwise_only()
        values = self._values(c)
        chat: list[Message] = []
        if self.system:
            chat.append({"role": "system", "content": self.system.format(**values)})
        chat.append({"role": "user", "content": self.user.format(**values)})
        return chat

    def parse(self, completion: str, truncated: bool = False) -> Verdict:
        self._pairwise_only()
        found = self._pattern.findall(completion)
        if not found:
            return self.missing_verdict(truncated)
        meant = self._labels.get(found[-1].strip())
        if meant is None:
            return Verdict(None, f"unrecognized verdict: {found[-1][:40]!r}")
        return Verdict(meant)  # type: ignore[arg-type]
