"""Reading what checks need from text, without a model or a sandbox: literal values in the
five languages, the examples prompts state, the tasks coding prompts pose, final answers."""

from __future__ import annotations

import pytest

from reasonrm.types import Comparison
from reasonrm.verify.answers import computed_answer, final_answer, is_math_prompt
from reasonrm.verify.code_tasks import code_task
from reasonrm.verify.examples import read_cases
from reasonrm.verify.languages import LANGUAGES, code_of, fenced_blocks
from reasonrm.verify.literals import NotALiteral, read_value, same


@pytest.mark.parametrize(
    ("text", "python", "value"),
    [
        ("[1, 2, 3]", True, [1, 2, 3]),
        ("(1, 2)", True, (1, 2)),
        ("{1, 2}", True, {1, 2}),  # Python: a set
        ("{1, 2}", False, [1, 2]),  # C++: a brace list
        ("{}", False, []),
        ("Arrays.asList(1, 2)", False, [1, 2]),
        ("List.of()", False, []),
        ("vec![1, 4, 2]", False, [1, 4, 2]),
        ('vec!["a".to_string()]', False, None),  # a method call is not a literal
        ("true", False, True),
        ("True", True, True),
        ("null", False, None),
        ("'hi'", False, "hi"),
        ('"a\\"b"', False, 'a"b'),
        ("3.50", False, 3.5),
        ("-7L", False, -7),
        ("2.0f", False, 2.0),
        ("Some(3)", False, 3),
        ('{"a": 1}', False, {"a": 1}),
        ("[[1, 2], [3]]", False, [[1, 2], [3]]),
    ],
)
def test_literals_of_every_language_read_as_python_values(text, python, value):
    if value is None and "to_string" in text:
        with pytest.raises(NotALiteral):
            read_value(text, python)
        return
    assert read_value(text, python) == value


@pytest.mark.parametrize("text", ["x", "f(3)", "1 + 2", "[1, 2", "", "'open"])
def test_what_is_not_a_literal_is_refused(text):
    with pytest.raises(NotALiteral):
        read_value(text)


def test_same_compares_numbers_within_a_tolerance_and_sequences_by_item():
    assert same(6.0, 6) and same(0.1 + 0.2, 0.3)
    assert not same(6.01, 6)
    assert same([1, [2.0]], [1, [2]])
    assert not same((1, 2), [1, 2], strict_types=True)  # Python's == has it so
    assert same((1, 2), [1, 2])  # other languages print every sequence alike
    assert not same(True, 2) and same(True, 1)
    assert not same("1", 1)


PROMPT = """Write a Python function `add(a, b)` to solve the following problem:
Add two numbers, e.g. add(9, 9) in the text is not an example.
>>> add(2, 3)
5
>>> add(-1,
...     1)
add(1, 1) == 2
add(2, 2) => 4
* add(3, 3) ➞ 6
add(4, 4) returns 8.
add(5, 5) should return 10
add(6, 6) -> 6 + 6 = 12
add(7, 7) ==> 14  # comment
add(x, 1) == 2
"""


def test_example_lines_are_read_in_their_many_forms():
    cases = read_cases(PROMPT, "add")
    got = {c.call: c.expected for c in cases}
    assert got == {
        "add(2, 3)": 5,
        "add(1, 1)": 2,
        "add(2, 2)": 4,
        "add(3, 3)": 6,
        "add(4, 4)": 8,
        "add(5, 5)": 10,
        "add(6, 6)": 12,
        "add(7, 7)": 14,
        "add(x, 1)": 2,  # its argument is not checked here: running it decides
    }
    assert all(c.source == "prompt" for c in cases)


def test_examples_in_other_languages_keep_their_calls_and_read_their_values():
    cpp = "Write a C++ function `vector<int> f(vector<int> v)`\n>>> f({1, 2})\n{2, 1}\n"
    (case,) = read_cases(cpp, "f", language="cpp")
    assert case.call == "f({1, 2})" and case.expected == [2, 1]
    java = "f(Arrays.asList(1, 2)) == Arrays.asList(2, 1)\n"
    (case,) = read_cases(java, "f", language="java")
    assert case.call == "f(Arrays.asList(1, 2))" and case.expected == [2, 1]
    rust = "assert_eq!(f(vec![1, 2]), vec![2, 1]);\n"
    (case,) = read_cases(rust, "f", language="rust")
    assert case.call == "f(vec![1, 2])" and case.expected == [2, 1]


def test_humanevalpack_prompts_give_language_signature_and_examples():
    c = Comparison(
        "Write a JavaScript function `const inc = (x)` to solve the following problem:\n"
        ">>> inc(1)\n2\n",
        "  return x + 1;\n}\n",
        "  return x;\n}\n",
    )
    task = code_task(c)
    assert task.language == "javascript" and task.signature.name == "inc"
    assert [(e.call, e.expected) for e in task.examples] == [("inc(1)", 2)]
    go = code_task(Comparison("Write a Go function `func F() int` to solve it", "x", "y"))
    assert go.why_not and "Go" in go.why_not


def test_a_python_function_both_responses_define_is_a_task():
    prompt = "Write is_even(n).\nExample: is_even(4) == True"
    a = "```python\ndef is_even(n):\n    return n % 2 == 0\n```"
    b = "Sure!\n```python\ndef is_even(n):\n    return n % 2 == 1\n```"
    task = code_task(Comparison(prompt, a, b))
    assert task.language == "python" and task.signature.name == "is_even"
    assert [(e.call, e.expected) for e in task.examples] == [("is_even(4)", True)]
    assert code_task(Comparison(prompt, a, "Just use modulo.")) is None  # one has no code
    assert code_task(Comparison("What is the capital of France?", "Paris", "Lyon")) is None


def test_leetcode_and_stdin_prompts_are_tasks():
    leet = "Example 1:\n\nInput: nums = [1, 2], k = 3\nOutput: 4\n"
    code = "```python\nclass Solution:\n    def solve_it(self, nums, k):\n        return sum(nums) + k - {}\n```"
    task = code_task(Comparison(leet, code.format(0), code.format(1)))
    assert task.method_of == "Solution"
    assert [(e.call, e.expected) for e in task.examples] == [("solve_it(nums = [1, 2], k = 3)", 4)]
    atcoder = "Read N.\n\nSample Input 1\n\n3\n\nSample Output 1\n\n6\n\nSample Input 2\n\n1\n\nSample Output 2\n\n2\n"
    program = "```python\nn = int(input())\nprint(n * {})\n```"
    task = code_task(Comparison(atcoder, program.format(2), program.format(3)))
    assert task.kind == "stdio"
    assert [(e.call, e.expected) for e in task.examples] == [("3\n", "6"), ("1\n", "2")]


def test_fenced_code_is_found_even_when_cut_off():
    text = "Here:\n```python\nx = 1\n```\nand\n```js\nlet y;\n```\n```python\ndef f():\n    pass"
    assert [tag for tag, _ in fenced_blocks(text)] == ["python", "js", "python"]
    assert "def f():" in code_of(text, "python") and "let y" not in code_of(text, "python")
    assert code_of("no fences at all", "python") == "no fences at all"


def test_a_bare_python_body_is_completed_from_the_signature():
    python = LANGUAGES["python"]
    sig = python.signature("add(a: int, b: int) -> int")
    program = python.program("    return a + b\n", sig)
    assert "def add(a: int, b: int) -> int:\n    return a + b" in program
    demo = "```python\ndef add(a, b):\n    return a + b\n\nprint(add(1, input()))\n```"
    assert "input()" not in python.program(demo, sig)  # the demo would read stdin
    assert python.program("   )))not python(((", sig) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("so the total is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("Steps...\n# Answer\n\n4800", "4800"),
        ("Thus the final answer is 17.", "17"),
        ("**Answer:** $x = 3$", "x = 3"),
        ("25 + 17 = 42", "42"),
        ("42 dollars.", "42"),
        ("The capital is Canberra.", None),
        ("France won 4-2.", None),  # prose that ends in a number states no answer
        ("x = 5", "5"),
        ("A long explanation without a final answer. " * 5, None),
    ],
)
def test_final_answers_are_read_from_what_responses_write(text, answer):
    assert final_answer(text) == answer


def test_computed_answers_and_math_prompts():
    assert computed_answer("working...\nAnswer: 42\n") == "42"
    assert computed_answer("x = 5\n") == "5"
    assert computed_answer("[5]\n") == "[5]"
    assert computed_answer("\n") is None
    assert is_math_prompt("What is 25 + 17?")
    assert is_math_prompt("Compute $\\frac{1}{2}$ of a third.")
    assert not is_math_prompt("Write a haiku about rain.")
    assert not is_math_prompt("Write a haiku about 3 cats.")  # a digit alone is not math


def test_multiple_choice_letters_are_not_math_answers():
    from reasonrm.verify.answers import is_choice
    from reasonrm.verify.math import MathVerifier

    assert is_choice("CCCCC") and is_choice("(B)") and is_choice("E")
    assert not is_choice("42") and not is_choice("x")
    prompt = "What is 2 + 2? (A) 3 (B) 4. Duplicate the letter five times."
    assert not MathVerifier().applies(
        Comparison(prompt, "The answer is BBBBB", "The answer is AAAAA")
    )


def test_code_without_a_fence_is_still_code():
    leet = "Example 1:\n\nInput: n = 3\nOutput: 6\n"
    a = "class Solution:\n    def triple(self, n: int) -> int:\n        return 3 * n\n"
    b = "class Solution:\n    def triple(self, n: int) -> int:\n        return n + 3\n"
    task = code_task(Comparison(leet, a, b))
    assert task is not None and task.signature.name == "triple" and task.method_of == "Solution"
    assert code_task(Comparison(leet, "def f(:\n  broken", b)) is None
