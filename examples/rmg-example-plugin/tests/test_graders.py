"""The example graders: behaviour, and rmg's conformance checks from the plugin kit."""

from __future__ import annotations

import pytest

import rmg_example
from rmg_core import ConfigError, GraderScore
from rmg_kit import check_grader
from rmg_example.json_valid import JsonValidGrader
from rmg_example.regex_match import RegexMatchGrader

ANSWERS = [
    {"prediction": "Your refund for order #1234 was sent."},
    {"prediction": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Order 77 shipped"}]},
    {"prediction": "no numbers here"},
    {"prediction": {"answer": "REFUND issued"}},
]
JSON_ANSWERS = [
    {"prediction": '{"status": "ok", "id": 3}'},
    {"prediction": {"status": "ok"}},
    {"prediction": "{not json"},
    {"prediction": [{"role": "assistant", "content": '{"id": 1}'}]},
    {"prediction": [1, 2]},
]


def test_regex_match_conformance() -> None:
    check_grader(
        RegexMatchGrader, ANSWERS, {"pattern": r"order #?\d+", "flags": ["IGNORECASE"]},
        invalid_settings=[{"pattern": "(unclosed"}, {"flags": ["VERBOSE"]}, {"expect": "maybe"}],
        other_settings={"pattern": r"refund"}, plugin=rmg_example,
    )


def test_json_valid_conformance() -> None:
    check_grader(
        JsonValidGrader, JSON_ANSWERS, {"required_keys": ["status"]},
        invalid_settings=[{"required_keys": "status"}], other_settings={"required_keys": []}, plugin=rmg_example,
    )


def test_regex_match_scores(rmg_grade) -> None:  # type: ignore[no-untyped-def]
    results = rmg_grade(RegexMatchGrader(pattern=r"order #?\d+", flags=["IGNORECASE"]), ANSWERS)
    assert [r.score for r in results] == [1.0, 1.0, 0.0, 0.0]
    assert results[0].reason == "matched 'order #1234' at 16"
    absent = rmg_grade(RegexMatchGrader(pattern=r"\d", expect="no_match"), ANSWERS)
    assert [r.score for r in absent] == [0.0, 0.0, 1.0, 1.0]


def test_json_valid_scores(rmg_grade) -> None:  # type: ignore[no-untyped-def]
    plain = rmg_grade(JsonValidGrader(), JSON_ANSWERS)
    assert [r.score for r in plain] == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert plain[2].reason.startswith("not JSON: Expecting property name")
    keyed = rmg_grade(JsonValidGrader(required_keys=["status"]), JSON_ANSWERS)
    assert [r.score for r in keyed] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert all(isinstance(r, GraderScore) for r in keyed)
    assert keyed[3].reason == "JSON object without ['status']"


def test_a_bad_pattern_names_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"regex_match: setting 'pattern': .*not a valid regular expression"):
        RegexMatchGrader(pattern="(unclosed")
