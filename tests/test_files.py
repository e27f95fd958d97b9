"""Pair rows from files and the resumable JSON-lines writer."""

import json

import pytest

from reasonrm.errors import InputError
from reasonrm.jsonl import ResumableWriter, check_settings_file, iter_jsonl
from reasonrm.pairs import comparison_from_row


def test_chosen_rejected_becomes_a_b_with_label_a():
    c = comparison_from_row({"prompt": "p", "chosen": "good", "rejected": "bad", "id": 7})
    assert (c.a, c.b, c.label, c.id) == ("good", "bad", "A", "7")


def test_an_empty_response_is_judged_not_rejected():
    assert comparison_from_row({"prompt": "p", "a": "x", "b": ""}).b == ""


def test_a_b_keeps_optional_label():
    assert comparison_from_row({"prompt": "p", "a": "x", "b": "y"}).label is None
    assert comparison_from_row({"prompt": "p", "a": "x", "b": "y", "label": "B"}).label == "B"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"a": "x", "b": "y"}, "missing field(s): prompt"),
        ({"prompt": "p", "chosen": "x"}, "b (or rejected)"),
        ({"prompt": " ", "a": "x", "b": "y"}, "field 'prompt' is empty"),
        ({"prompt": "p", "a": "x", "b": 3}, "field 'b' must be a string"),
        ({"prompt": "p", "a": "x", "b": "y", "chosen": "z"}, "not both"),
        ({"prompt": "p", "a": "x", "b": "y", "label": "C"}, "label"),
        ({"prompt": [{"role": "bot", "content": "x"}], "a": "x", "b": "y"}, "role"),
    ],
)
def test_bad_rows_name_the_problem(row, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        comparison_from_row(row, where="pairs.jsonl:3")
    assert str(e.value).startswith("pairs.jsonl:3: ")


def test_iter_jsonl_reports_bad_lines_and_skips_blank(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n[1, 2]\n{oops\n')
    rows = list(iter_jsonl(path))
    assert rows[0] == (1, {"a": 1})
    assert rows[1][0] == 3 and "expected a JSON object" in str(rows[1][1])
    assert rows[2][0] == 4 and f"{path}:4" in str(rows[2][1])
    with pytest.raises(InputError, match="no such file"):
        list(iter_jsonl(tmp_path / "missing.jsonl"))


def test_writer_resumes_and_cuts_a_half_written_row(tmp_path):
    path = tmp_path / "out" / "r.jsonl"
    with ResumableWriter(path, key="line") as w:
        w.write({"line": 1, "v": "a"})
        w.write({"line": 2, "v": "b"})
    with open(path, "a") as f:
        f.write('{"line": 3, "v": "hal')  # killed mid-write
    w = ResumableWriter(path, key="line")
    assert w.done == {1, 2}
    w.write({"line": 3, "v": "c"})
    w.close()
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3]


def test_writer_records_settings_and_refuses_others(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResumableWriter(path, key="line", settings={"model": "m", "votes": 1}) as w:
        w.write({"line": 1})
    assert json.loads(path.read_text())["settings"] == {"model": "m", "votes": 1}
    with pytest.raises(InputError, match=r"other settings \(votes: 1 → 3\)"):
        ResumableWriter(path, key="line", settings={"model": "m", "votes": 3})
    # a setting added since the file was written is not a change
    with ResumableWriter(path, key="line", settings={"model": "m", "votes": 1, "new": 0}) as w:
        assert w.done == {1}
        w.write({"line": 2})
    assert len(path.read_text().splitlines()) == 2
    # unless the value the older rows stood for is known: they were not prefilled
    with pytest.raises(InputError, match=r"prefill: False → True"):
        ResumableWriter(path, key="line", settings={"model": "m", "votes": 1, "prefill": True})
    with ResumableWriter(path, key="line", settings={"model": "m", "votes": 1, "prefill": False}):
        pass
    # and ran a transformers engine at its default precision
    with pytest.raises(InputError, match=r"dtype: 'auto' → 'float32'"):
        ResumableWriter(path, key="line", settings={"model": "m", "votes": 1, "dtype": "float32"})
    with ResumableWriter(path, key="line", settings={"model": "m", "votes": 1, "dtype": "auto"}):
        pass
    fresh = tmp_path / "fresh.jsonl"  # a new file takes any value
    with ResumableWriter(fresh, key="line", settings={"prefill": True}) as w:
        w.write({"line": 1})


def test_settings_file_of_a_run_folder(tmp_path):
    run = tmp_path / "run" / "run.json"
    check_settings_file(run, {"protocol": "rrm", "seed": 0})
    check_settings_file(run, {"protocol": "rrm", "seed": 0})  # the same run resumes
    with pytest.raises(InputError, match="run holds results made with other settings"):
        check_settings_file(run, {"protocol": "direct", "seed": 0})
    assert json.loads(run.read_text()) == {"protocol": "rrm", "seed": 0}
