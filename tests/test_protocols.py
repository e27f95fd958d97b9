"""Protocols: rendering (reference layouts from DESIGN.md), parsing, verdict cues."""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reasonrm.protocols
from reasonrm.errors import UnknownProtocolError
from reasonrm.protocols import PROTOCOLS, Protocol, TemplateProtocol, get_protocol
from reasonrm.protocols.base import BOTH_VERDICTS, NO_VERDICT, TRUNCATED
from reasonrm.types import Comparison, Verdict

NAMES = ["rrm", "rm-r1", "rm-r1-distilled", "direct"]
BOXED = {"rrm", "direct"}  # \boxed{Assistant N}
ANSWER_TAGS = {"rm-r1", "rm-r1-distilled"}  # <answer>[[X]]</answer>

PROMPT = "What is the capital of France?"
A = "The capital of France is Paris."
B = "It is Lyon, I believe."

CONVERSATION = [
    {"role": "user", "content": "Hi there."},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Tell me a joke about cats."},
]

# DESIGN.md, "Reference formats"
RRM_INSTRUCTION = (
    "Let's analyze this step by step and decide which assistant is better, and then answer "
    "\\boxed{Assistant 1} or \\boxed{Assistant 2}."
)


def rrm_user_turn(query: str, a: str, b: str, instruction: str) -> str:
    return (
        f"## Query\n\n{query}\n\n## Assistant responses\n\n### Assistant 1\n\n{a}\n\n\n"
        f"### Assistant 2\n\n{b}\n\n## Analysis\n\n{instruction}"
    )


def rmr1_user_turn(question: str, a: str, b: str) -> str:
    return (
        f"[Client Question]\n{question}\n\n"
        f"[The Start of Chatbot A's Response]\n{a}\n[The End of Chatbot A's Response]\n\n"
        f"[The Start of Chatbot B's Response]\n{b}\n[The End of Chatbot B's Response]"
    )


def verdict_text(name: str, winner: str) -> str:
    """A well-formed verdict in protocol `name`'s own format."""
    if name in BOXED:
        return f"\\boxed{{Assistant {1 if winner == 'A' else 2}}}"
    return f"<answer>[[{winner}]]</answer>"


def user_content(messages: list[dict]) -> str:
    (user,) = [m for m in messages if m["role"] == "user"]
    return user["content"]


# ---- registry ---------------------------------------------------------------------------------


def _protocol_classes() -> set[type[Protocol]]:
    """Every concrete Protocol class defined in the reasonrm.protocols package."""
    found = set()
    for info in pkgutil.iter_modules(reasonrm.protocols.__path__, "reasonrm.protocols."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            defined_here = cls.__module__ == module.__name__  # not imported from elsewhere
            if defined_here and issubclass(cls, Protocol) and not inspect.isabstract(cls):
                found.add(cls)
    return found


def test_every_protocol_class_in_the_package_is_registered_under_its_name():
    classes = _protocol_classes()
    assert classes  # the discovery itself works
    registered = {name: get_protocol(name) for name in PROTOCOLS}
    # templates are read from the user's files, not registered by name
    assert {type(p) for p in registered.values()} == classes - {TemplateProtocol}
    for name, p in registered.items():
        assert p.name == name and get_protocol(p) is p


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_every_registered_protocol_renders_and_parses_a_round_trip(name):
    p = get_protocol(name)
    messages = p.render(Comparison(PROMPT, A, B))
    shown = "\n".join(m["content"] for m in messages)
    assert PROMPT in shown and shown.index(A) < shown.index(B)
    # whatever it renders, its forced verdicts read back as the slot they name
    options = grammar_options(p.cue_grammar)
    read = [p.parse("thinking..." + p.verdict_cue_for("thinking...") + o) for o in options]
    assert [v.winner for v in read] == [expected_winner(o) for o in options]
    assert sorted(v.winner for v in read) == ["A", "B"]


def test_unknown_protocol_names_every_choice():
    with pytest.raises(UnknownProtocolError, match="'nope'") as e:
        get_protocol("nope")
    assert all(name in str(e.value) for name in PROTOCOLS)


# ---- rendering ----------------------------------------------------------------------------------


def test_rrm_single_turn_matches_the_reference_layout():
    messages = get_protocol("rrm").render(Comparison(PROMPT, A, B))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == rrm_user_turn(PROMPT, A, B, RRM_INSTRUCTION)
    system = messages[0]["content"]
    assert len(re.findall(r"^\d+\. ", system, re.MULTILINE)) >= 5  # numbered judging rules
    assert "never both" in system


def test_direct_uses_the_rrm_layout_without_analysis():
    messages = get_protocol("direct").render(Comparison(PROMPT, A, B))
    assert [m["role"] for m in messages] == ["system", "user"]
    content = messages[1]["content"]
    head = rrm_user_turn(PROMPT, A, B, "")
    assert content.startswith(head)
    instruction = content[len(head) :]
    assert "\\boxed{Assistant 1}" in instruction and "\\boxed{Assistant 2}" in instruction
    assert "step by step" not in instruction


def test_rmr1_single_turn_matches_the_reference_layout():
    messages = get_protocol("rm-r1").render(Comparison(PROMPT, A, B))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == rmr1_user_turn(PROMPT, A, B)
    system = messages[0]["content"]
    for tag in (
        "<type>Chat</type>",
        "<type>Reasoning</type>",
        "<rubric>",
        "<justify>",
        "<eval>",
        "<solution>",
        "<quote_A>",
        "<summary_B>",
        "<answer>[[A]]</answer>",
        "<answer>[[B]]</answer>",
    ):
        assert tag in system, tag


def test_rmr1_distilled_has_no_system_prompt_and_asks_to_think():
    messages = get_protocol("rm-r1-distilled").render(Comparison(PROMPT, A, B))
    assert [m["role"] for m in messages] == ["user"]
    content = messages[0]["content"]
    assert content.endswith("\n\n" + rmr1_user_turn(PROMPT, A, B))
    instruction = content[: -len(rmr1_user_turn(PROMPT, A, B))]
    assert "<think>" in instruction and "<answer>[[A]]</answer>" in instruction


@pytest.mark.parametrize("name", NAMES)
def test_a_lone_user_message_renders_like_a_string_prompt(name):
    p = get_protocol(name)
    as_list = Comparison([{"role": "user", "content": PROMPT}], A, B)
    assert p.render(as_list) == p.render(Comparison(PROMPT, A, B))


@pytest.mark.parametrize("name", ["rm-r1", "rm-r1-distilled"])
def test_rmr1_multi_turn_shows_one_conversation_per_chatbot(name):
    content = user_content(get_protocol(name).render(Comparison(CONVERSATION, A, B)))
    assert "[Client Question]" not in content
    for side, response in (("A", A), ("B", B)):
        title = f"the Conversation between Chatbot {side} and the Client"
        block = (
            f"[The Start of {title}]\n"
            f"User: Hi there.\n"
            f"Chatbot {side}: Hello! How can I help?\n"
            f"User: Tell me a joke about cats.\n"
            f"Chatbot {side}: {response}\n"
            f"[The End of {title}]"
        )
        assert block in content
    # A's conversation comes first, and the two blocks are separate
    assert content.index("Chatbot A and the Client") < content.index("Chatbot B and the Client")
    assert content.endswith("[The End of the Conversation between Chatbot B and the Client]")


@pytest.mark.parametrize("name", ["rrm", "direct"])
def test_rrm_multi_turn_puts_the_conversation_in_the_query(name):
    content = user_content(get_protocol(name).render(Comparison(CONVERSATION, A, B)))
    query = content.split("## Query\n\n", 1)[1].split("\n\n## Assistant responses", 1)[0]
    for m in CONVERSATION:
        assert m["content"] in query
    # turns in order, the user's last question last
    positions = [query.index(m["content"]) for m in CONVERSATION]
    assert positions == sorted(positions)
    assert query.rstrip().endswith("Tell me a joke about cats.")
    assert "User:" in query
    # the responses are the two assistants, not part of the query
    assert A not in query and B not in query
    assert f"### Assistant 1\n\n{A}\n\n\n### Assistant 2\n\n{B}\n\n" in content


@pytest.mark.parametrize("name", NAMES)
def test_swapped_comparison_shows_b_first(name):
    p = get_protocol(name)
    c = Comparison(PROMPT, A, B, label="A")
    assert p.render(c.swapped()) == p.render(Comparison(PROMPT, B, A))
    content = user_content(p.render(c.swapped()))
    assert content.index(B) < content.index(A)


texts = st.text(min_size=1).filter(lambda s: s.strip())


@pytest.mark.parametrize("name", NAMES)
@given(prompt=texts, a=texts, b=texts)
@settings(max_examples=50, deadline=None)
def test_label_and_id_never_change_the_rendered_text(name, prompt, a, b):
    p = get_protocol(name)
    rendered = [
        p.render(Comparison(prompt, a, b, label=label, id=ident))
        for label, ident in ((None, None), ("A", "pair-A-better"), ("B", "pair-B-better"))
    ]
    assert rendered[0] == rendered[1] == rendered[2]


@pytest.mark.parametrize("name", NAMES)
def test_multi_turn_rendering_ignores_the_label(name):
    p = get_protocol(name)
    assert p.render(Comparison(CONVERSATION, A, B, label="A")) == p.render(
        Comparison(CONVERSATION, A, B, label="B")
    )


# ---- parsing ------------------------------------------------------------------------------------


WELL_FORMED = {
    "rrm": (
        "Assistant 1 names Paris, which is correct; Assistant 2 says Lyon.\n\n\\boxed{Assistant 1}",
        "A",
    ),
    "rm-r1": (
        "<type>Reasoning</type>\n<solution>Paris.</solution>\n<eval><quote_A>Paris</quote_A> "
        "is right, <summary_B>claims Lyon</summary_B>.</eval>\n<answer>[[B]]</answer>",
        "B",
    ),
    "rm-r1-distilled": (
        "<think>Chatbot A says Paris; that is correct.</think>\n<answer>[[A]]</answer>",
        "A",
    ),
    "direct": ("\\boxed{Assistant 2}", "B"),
}


@pytest.mark.parametrize("name", NAMES)
def test_parse_well_formed(name):
    text, winner = WELL_FORMED[name]
    assert get_protocol(name).parse(text) == Verdict(winner)
    assert get_protocol(name).parse(text, truncated=True) == Verdict(winner)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("winner", ["A", "B"])
def test_parse_own_verdict_format(name, winner):
    p = get_protocol(name)
    assert p.parse("Some analysis first.\n" + verdict_text(name, winner)) == Verdict(winner)


@pytest.mark.parametrize("name", ["rrm", "direct"])
def test_last_box_wins(name):
    p = get_protocol(name)
    text = "At first \\boxed{Assistant 1} seemed right, but on reflection \\boxed{Assistant 2}"
    assert p.parse(text) == Verdict("B")
    text = "Not \\boxed{Assistant 2}. Final answer: \\boxed{Assistant 1}"
    assert p.parse(text) == Verdict("A")


@pytest.mark.parametrize("name", ["rm-r1", "rm-r1-distilled"])
def test_last_answer_wins(name):
    text = "</think><answer>[[A]]</answer> Wait, no. <answer>[[B]]</answer>"
    assert get_protocol(name).parse(text) == Verdict("B")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rrm", "Both are good. \\boxed{Assistant 1 and Assistant 2}"),
        ("rrm", "\\boxed{Assistant 1 or Assistant 2}"),
        ("direct", "\\boxed{Assistant 2, Assistant 1}"),
        ("rm-r1", "<eval>tie</eval><answer>[[A]] [[B]]</answer>"),
        ("rm-r1", "<answer>[[B]] and [[A]]</answer>"),
        ("rm-r1-distilled", "<think>hmm</think><answer>[[A]][[B]]</answer>"),
    ],
)
def test_both_verdicts_is_invalid(name, text):
    for truncated in (False, True):
        assert get_protocol(name).parse(text, truncated=truncated) == Verdict(None, BOTH_VERDICTS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "text",
    [
        "",
        "I cannot decide between them.",
        "Chatbot A is better. [[A]]",  # the bracket without <answer> tags is not a verdict
        "The better one is Assistant 1 because Assistant 1 is correct",  # no box
        "<answer>",
    ],
)
def test_no_verdict_and_truncated(name, text):
    p = get_protocol(name)
    assert p.parse(text) == Verdict(None, NO_VERDICT)
    assert p.parse(text, truncated=True) == Verdict(None, TRUNCATED)


@pytest.mark.parametrize("name", ["rrm", "direct"])
@pytest.mark.parametrize(
    ("box", "winner"),
    [
        ("\\boxed{\\text{Assistant 2}}", "B"),
        ("\\boxed{\\text{Assistant 1}}", "A"),
        ("\\boxed{\\textbf{Assistant 2}}", "B"),
        ("\\boxed{ assistant 1 }", "A"),
        ("\\boxed {Assistant 2}", "B"),
    ],
)
def test_box_variants(name, box, winner):
    assert get_protocol(name).parse(f"So the answer is {box}.") == Verdict(winner)


@pytest.mark.parametrize("name", ["rrm", "direct"])
def test_unrecognized_box_is_invalid_not_a_guess(name):
    v = get_protocol(name).parse("\\boxed{42}")
    assert v.winner is None and v.invalid_reason and "unrecognized" in v.invalid_reason


@pytest.mark.parametrize("name", ["rm-r1", "rm-r1-distilled"])
def test_unrecognized_answer_is_invalid(name):
    v = get_protocol(name).parse("</think><answer>Chatbot A</answer>")
    assert v.winner is None and v.invalid_reason and "unrecognized" in v.invalid_reason


def test_direct_accepts_a_bare_assistant_at_the_start_only():
    p = get_protocol("direct")
    assert p.parse("Assistant 2") == Verdict("B")
    assert p.parse("  **Assistant 1**") == Verdict("A")
    assert p.parse("assistant 1.") == Verdict("A")
    assert p.parse("Assistant 12").winner is None
    assert p.parse("I prefer Assistant 1").winner is None


def test_rrm_does_not_accept_a_bare_assistant():
    assert get_protocol("rrm").parse("Assistant 2") == Verdict(None, NO_VERDICT)


def test_distilled_ignores_answers_inside_an_unclosed_think():
    p = get_protocol("rm-r1-distilled")
    text = "<think>Draft: <answer>[[A]]</answer> but let me check again, Chatbot B"
    assert p.parse(text) == Verdict(None, NO_VERDICT)
    assert p.parse(text, truncated=True) == Verdict(None, TRUNCATED)


def test_distilled_ignores_answers_inside_a_closed_think():
    p = get_protocol("rm-r1-distilled")
    assert p.parse("<think>Draft <answer>[[A]]</answer></think>Done.") == Verdict(None, NO_VERDICT)
    assert p.parse("<think><answer>[[A]]</answer></think><answer>[[B]]</answer>") == Verdict("B")


def test_distilled_accepts_a_missing_opening_think():
    # R1-style chat templates often put "<think>" in the prompt, so the completion lacks it
    p = get_protocol("rm-r1-distilled")
    assert p.parse("Chatbot B is right.\n</think>\n\n<answer>[[B]]</answer>") == Verdict("B")


def test_plain_rmr1_reads_answers_anywhere():
    # the instruct variant has no thinking section: the last answer counts
    assert get_protocol("rm-r1").parse("<eval>x</eval>\n<answer>[[A]]</answer>") == Verdict("A")


# ---- verdict cues -------------------------------------------------------------------------------


def test_verdict_cue_for_closes_an_open_think():
    p = get_protocol("rm-r1-distilled")
    cut = "<think>Chatbot A is more accurate, but"
    cue = p.verdict_cue_for(cut)
    assert "</think>" in cue and cue.endswith(p.verdict_cue)
    assert p.parse(cut + cue + "A]]</answer>") == Verdict("A")
    # closed thinking, or none: the plain cue
    assert p.verdict_cue_for("<think>done</think>\nSo") == p.verdict_cue
    assert p.verdict_cue_for("no thinking at all") == p.verdict_cue


@pytest.mark.parametrize("name", ["rrm", "rm-r1", "direct"])
def test_verdict_cue_for_is_the_plain_cue(name):
    p = get_protocol(name)
    assert p.verdict_cue_for("<think>open thinking") == p.verdict_cue


def grammar_options(grammar: str) -> list[str]:
    """Every string a tiny GBNF grammar accepts: `root ::=` a sequence of quoted literals
    and parenthesised alternatives (enough for the cue grammars)."""
    rhs = grammar.split("::=", 1)[1]
    tokens = re.findall(r'"((?:[^"\\]|\\.)*)"|([()|])', rhs)
    pos = 0

    def unescape(s: str) -> str:
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), s)

    def alternatives() -> list[str]:
        nonlocal pos
        out = sequence()
        while pos < len(tokens) and tokens[pos][1] == "|":
            pos += 1
            out += sequence()
        return out

    def sequence() -> list[str]:
        nonlocal pos
        out = [""]
        while pos < len(tokens) and tokens[pos][1] not in ("|", ")"):
            literal, op = tokens[pos]
            pos += 1
            if op == "(":
                parts = alternatives()
                assert tokens[pos][1] == ")"
                pos += 1
            else:
                parts = [unescape(literal)]
            out = [x + y for x, y in itertools.product(out, parts)]
        return out

    options = alternatives()
    assert pos == len(tokens), grammar
    return options


def test_grammar_options_helper():
    assert grammar_options('root ::= " " ("1" | "2") "}"') == [" 1}", " 2}"]
    assert grammar_options('root ::= "\\\\boxed{Assistant " ("1" | "2") "}"') == [
        "\\boxed{Assistant 1}",
        "\\boxed{Assistant 2}",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_cue_grammar_offers_both_verdicts(name):
    p = get_protocol(name)
    assert p.cue_grammar
    verdicts = [
        p.parse("Cut off here" + p.verdict_cue_for("Cut off here") + option)
        for option in grammar_options(p.cue_grammar)
    ]
    assert sorted(v.winner for v in verdicts) == ["A", "B"]


# ---- properties ---------------------------------------------------------------------------------

# Free text that contains no verdict syntax of any protocol (casefold: the answer tag is
# matched case-insensitively).
FORBIDDEN = ("\\boxed", "<answer", "</answer", "<think>", "</think>")
free_text = st.text().filter(lambda s: not any(f in s.casefold() for f in FORBIDDEN))


def expected_winner(option: str) -> str:
    """What a cue-grammar option means: '1' / 'A' is the first response."""
    return "A" if re.search(r"[1A]", option) else "B"


@pytest.mark.parametrize("name", NAMES)
@given(text=st.text(), truncated=st.booleans())
@settings(max_examples=300, deadline=None)
def test_parse_never_raises(name, text, truncated):
    v = get_protocol(name).parse(text, truncated=truncated)
    assert isinstance(v, Verdict)
    assert v.winner in ("A", "B", None)
    if v.winner is None:
        assert isinstance(v.invalid_reason, str) and v.invalid_reason
    else:
        assert v.invalid_reason is None


VERDICT_PIECES = [
    *"AB12[]{}<>/\\ \n",
    "\\boxed{",
    "Assistant ",
    "<answer>",
    "</answer>",
    "<think>",
    "</think>",
    "\\text{",
]
verdict_soup = st.lists(st.sampled_from(VERDICT_PIECES), max_size=30).map("".join)


@pytest.mark.parametrize("name", NAMES)
@given(text=verdict_soup)
@settings(max_examples=300, deadline=None)
def test_parse_never_raises_on_verdict_soup(name, text):
    p = get_protocol(name)
    stopped, cut = p.parse(text), p.parse(text, truncated=True)
    # the truncation flag only changes why a verdict is missing, never the winner
    assert stopped.winner == cut.winner
    if stopped.invalid_reason == NO_VERDICT:
        assert cut.invalid_reason == TRUNCATED


@pytest.mark.parametrize("name", NAMES)
@given(prefix=free_text, winner=st.sampled_from(["A", "B"]), truncated=st.booleans())
@settings(max_examples=200, deadline=None)
def test_well_formed_completion_parses_to_its_verdict(name, prefix, winner, truncated):
    p = get_protocol(name)
    if name == "rm-r1-distilled":
        completion = f"<think>{prefix}</think>\n{verdict_text(name, winner)}"
    else:
        completion = prefix + "\n" + verdict_text(name, winner)
    assert p.parse(completion, truncated=truncated) == Verdict(winner)


@pytest.mark.parametrize("name", NAMES)
@given(prefix=free_text, open_think=st.booleans(), pick=st.integers(0, 1), truncated=st.booleans())
@settings(max_examples=200, deadline=None)
def test_cue_plus_grammar_option_parses_to_that_verdict(name, prefix, open_think, pick, truncated):
    p = get_protocol(name)
    cut = ("<think>" if open_think else "") + prefix  # a completion stopped mid-thought
    options = grammar_options(p.cue_grammar)
    assert len(options) == 2
    option = options[pick]
    forced = cut + p.verdict_cue_for(cut) + option
    assert p.parse(forced, truncated=truncated) == Verdict(expected_winner(option))


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_a_bare_verdict_parses_as_the_slot_it_names(name):
    protocol = get_protocol(name)
    for winner in "AB":
        assert protocol.parse(protocol.verdict_text(winner)).winner == winner
