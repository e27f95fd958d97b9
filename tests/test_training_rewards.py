"""The verifiable reward, called the way TRL, verl and OpenRLHF call it."""

import importlib.util
import sys
from pathlib import Path

import pytest

import reasonrm.rewards
from reasonrm.errors import InputError
from reasonrm.protocols import get_protocol
from reasonrm.rewards import (
    compute_score,
    make_verdict_reward,
    response_of,
    reward_func,
    verdict_reward,
)
from reasonrm.types import Comparison

REASONING = "Assistant 1 gives the right number and explains it, while Assistant 2 " * 3
ONE = f"{REASONING}\n\nTherefore, the better response is \\boxed{{Assistant 1}}"
TWO = f"{REASONING}\n\nTherefore, the better response is \\boxed{{Assistant 2}}"


def as_messages(text):
    return [{"role": "assistant", "content": text}]


def test_trl_keyword_call_with_message_completions_and_label_column():
    completions = [as_messages(ONE), as_messages(TWO), as_messages(ONE), as_messages("no idea")]
    got = verdict_reward(
        prompts=[[{"role": "user", "content": "q"}]] * 4,
        completions=completions,
        completion_ids=[[1, 2]] * 4,
        label=["A", "A", "B", "B"],
        id=["1", "2", "3", "4"],  # other dataset columns arrive too
        trainer_state=None,
        log_extra=None,
        log_metric=None,
    )
    assert got == [1.0, -1.0, -1.0, -1.0]  # the unparseable one is -1, not a side
    assert verdict_reward.__name__ == "verdict_rrm"
    assert [d.verdict.invalid_reason for d in verdict_reward.last][3] == "no verdict"


def test_trl_string_completions_and_rm_r1_protocol():
    f = make_verdict_reward("rm-r1")
    assert f.__name__ == "verdict_rm_r1"
    texts = ["<eval>…</eval>\n<answer>[[B]]</answer>", "<answer>[[A]]</answer>"]
    assert f(prompts=["p", "p"], completions=texts, label=["B", "B"]) == [1.0, -1.0]


def test_both_verdicts_in_one_answer_is_wrong_for_either_label():
    for label in "AB":
        assert verdict_reward(
            completions=["\\boxed{Assistant 1 and Assistant 2}"], label=[label]
        ) == [-1.0]
    rm_r1 = make_verdict_reward("rm-r1")
    assert rm_r1(completions=["<answer>[[A]] or [[B]]</answer>"], label=["A"]) == [-1.0]


def test_strict_rule_rejects_two_verdicts_in_the_tail():
    hedge = f"{REASONING} \\boxed{{Assistant 1}}, no, \\boxed{{Assistant 2}}"
    assert verdict_reward(completions=[hedge], label=["B"]) == [1.0]  # last box counts
    strict = make_verdict_reward(strict=True)
    assert strict.__name__ == "verdict_rrm_strict"
    assert strict(completions=[hedge, TWO], label=["B", "B"]) == [-1.0, 1.0]
    assert "more than one verdict" in strict.last[0].verdict.invalid_reason
    rm_r1 = make_verdict_reward("rm-r1", strict=True)
    text = "<eval>fine</eval><answer>[[A]]</answer> or maybe [[B]]"
    assert make_verdict_reward("rm-r1")(completions=[text], label=["A"]) == [1.0]
    assert rm_r1(completions=[text], label=["A"]) == [-1.0]


def test_strict_rule_wants_the_verdict_in_the_tail():
    early = f"\\boxed{{Assistant 2}} {REASONING}"  # the verdict, then 200+ characters
    assert verdict_reward(completions=[early], label=["B"]) == [1.0]
    strict = make_verdict_reward(strict=True)
    assert strict(completions=[early], label=["B"]) == [-1.0]
    assert "last 80 characters" in strict.last[0].verdict.invalid_reason
    assert make_verdict_reward(strict=True, tail_chars=1000)(completions=[early], label=["B"]) == [
        1.0
    ]
    # RM-R1's own layout: reasoning, then the answer at the very end
    rm_r1 = make_verdict_reward("rm-r1-distilled", strict=True)
    good = f"<think>{REASONING}</think>\n<answer>[[B]]</answer>"
    assert rm_r1(completions=[good, good], label=["B", "A"]) == [1.0, -1.0]


def test_format_reward_is_a_small_bonus_or_penalty():
    f = make_verdict_reward(format_weight=0.1)
    bare = "\\boxed{Assistant 1}"
    got = f(completions=[ONE, bare, TWO, "nothing"], label=["A", "A", "A", "A"])
    assert got == pytest.approx([1.1, 0.9, -0.9, -1.1])
    assert [d.well_formed for d in f.last] == [True, False, True, False]
    direct = make_verdict_reward("direct", format_weight=0.1)  # asks for the verdict alone
    assert direct(completions=[bare], label=["A"]) == pytest.approx([1.1])
    with pytest.raises(InputError, match="format_weight"):
        make_verdict_reward(format_weight=-1)


@pytest.mark.parametrize("label", ["C", None, "a", 1, "model_a"])
def test_bad_label_is_an_error_naming_the_row(label):
    with pytest.raises(InputError, match=r"row 1: label must be 'A' or 'B'"):
        verdict_reward(completions=[ONE, ONE], label=["A", label])
    with pytest.raises(InputError, match="row 0"):
        compute_score("reasonrm", ONE, label)
    with pytest.raises(InputError, match="row 1"):
        reward_func([ONE, ONE], ["", ""], ["B", label])


def test_trl_without_a_label_column_or_with_a_short_one_is_an_error():
    with pytest.raises(InputError, match="'label' dataset column"):
        verdict_reward(prompts=["p"], completions=[ONE])
    with pytest.raises(InputError, match="2 completions but 1 labels"):
        verdict_reward(completions=[ONE, ONE], label=["A"])


def test_verl_positional_call(monkeypatch):
    assert compute_score("reasonrm/hh", TWO, "B") == 1.0
    assert compute_score("reasonrm/hh", TWO, "A", {"index": 3, "split": "train"}) == -1.0
    assert compute_score("reasonrm/hh", "no verdict here", "A", None) == -1.0
    rm_r1 = "<eval>x</eval><answer>[[A]]</answer>"
    assert compute_score("d", rm_r1, "A", {"protocol": "rm-r1"}) == 1.0
    assert compute_score("d", rm_r1, "A", None, protocol="rm-r1") == 1.0  # reward_kwargs
    with pytest.raises(InputError, match="row 7"):
        compute_score("d", TWO, "C", {"index": 7})
    monkeypatch.setenv("REASONRM_REWARD_PROTOCOL", "rm-r1")
    monkeypatch.setenv("REASONRM_REWARD_FORMAT_WEIGHT", "0.5")
    assert compute_score("d", rm_r1, "A") == pytest.approx(0.5)  # correct, but no reasoning


def openrlhf_prompt():
    """A prompt as OpenRLHF passes it: the judge chat through a chat template."""
    chat = get_protocol("rrm").render(Comparison("What is 2+2?", "4", "5"))
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
    return text + "<|im_start|>assistant\n"


def test_openrlhf_queries_start_with_their_prompt():
    torch = pytest.importorskip("torch")
    prompt = openrlhf_prompt()
    assert "\\boxed{Assistant 2}" in prompt  # the instruction itself names both boxes
    responses = [ONE, TWO, "I cannot decide.<|im_end|>"]
    queries = [prompt + r for r in responses]
    queries[1] = "<pad><pad>" + queries[1]  # left padding the decoder kept
    out = reward_func(queries, [prompt] * 3, ["A", "A", "B"])
    assert isinstance(out["rewards"], torch.Tensor)
    # the third has no verdict of its own: -1, not the instruction's "Assistant 2"
    assert out["rewards"].tolist() == [1.0, -1.0, -1.0]
    assert out["scores"].tolist() == [1.0, 0.0, 0.0]
    assert out["extra_logs"]["verdict_invalid"].tolist() == [0.0, 0.0, 1.0]
    assert reward_func(queries[:1], [prompt], ["A"], protocol="rrm", strict=True)[
        "rewards"
    ].tolist() == [1.0]


def test_openrlhf_without_torch_returns_lists(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    prompt = openrlhf_prompt()
    out = reward_func([prompt + TWO], [prompt], ["B"])
    assert out["rewards"] == [1.0] and out["scores"] == [1.0]


def test_openrlhf_query_without_its_prompt_is_an_error():
    with pytest.raises(InputError, match="row 0: the query does not contain its prompt"):
        reward_func(["something else " + ONE], [openrlhf_prompt()], ["A"])
    with pytest.raises(InputError, match="differ"):
        reward_func([ONE], [], ["A"])
    assert response_of("PROMPT reply", "PROMPT") == " reply"


def test_the_file_verl_and_openrlhf_load_by_path_works_loaded_as_they_load_it():
    # OpenRLHF execs the file without registering it in sys.modules; verl registers it
    path = Path(reasonrm.rewards.__file__).parent / "verdict.py"
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    prompt = openrlhf_prompt()
    assert module.compute_score("d", TWO, "B") == 1.0
    assert list(module.reward_func([prompt + TWO], [prompt], ["B"])["scores"]) == [1.0]
