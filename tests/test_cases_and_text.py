"""EvalCase parsing of real trace shapes, and the text-reduction rules."""

from __future__ import annotations

from datetime import timezone

from rmg_core import CaseError, EvalCase, case_from_mapping, question_text, answer_text, to_text
from rmg_core.results import GraderScore, check_result


def test_seed_shape_and_langfuse_export_shape() -> None:
    seed = case_from_mapping({"id": "t1", "input": "q", "output": "a", "expected": "e"}, location="f:1")
    assert isinstance(seed, EvalCase) and seed.expected == "e"
    export = case_from_mapping(
        {
            "id": "t2", "timestamp": "2026-01-02T03:04:05", "name": "chat",
            "input": '{"messages": [{"role": "user", "content": "hi"}]}', "output": '"plain"',
            "metadata": {"expected_output": "hello"}, "tags": ["a"], "userId": "u",
        },
        location="f:2",
    )
    assert isinstance(export, EvalCase)
    assert export.input == {"messages": [{"role": "user", "content": "hi"}]}
    assert export.expected == "hello" and export.timestamp.tzinfo is timezone.utc


def test_missing_id_is_a_case_error_naming_location_and_field() -> None:
    problem = case_from_mapping({"input": "q"}, location="traces.jsonl:7")
    assert isinstance(problem, CaseError)
    assert str(problem).startswith("traces.jsonl:7") and "field id" in problem.message and "exactly once" in problem.message
    assert isinstance(case_from_mapping(["not", "an", "object"], location="x:1"), CaseError)  # type: ignore[arg-type]


def test_grader_fields_leave_out_missing_reference() -> None:
    case = EvalCase(id=5, input=None, output="a")  # type: ignore[arg-type]
    assert case.id == "5" and "reference" not in case.grader_fields()


def test_text_rules() -> None:
    chat = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url", "image_url": {}}]},
    ]
    assert question_text(chat) == "second"
    assert answer_text(chat) == "reply"
    assert to_text(None) == "" and to_text({"answer": "yes"}) == "yes" and to_text(3) == "3"
    assert to_text({"messages": chat}, role="input") == "second"
    assert to_text({"a": [1, "é"]}) == '{"a":[1,"é"]}'


def test_check_result_passes_valid_results_through() -> None:
    score = GraderScore(score=1)
    assert check_result(score, "g") is score


def test_score_id_is_uuid5_of_trace_observation_and_name() -> None:
    import uuid

    from rmg_core.records import SCORE_ID_NAMESPACE, score_id

    for trace, obs, name in [("t1", None, "similarity"), ("é-ü-中", "obs-1", "relevance"), ("", "", "x")]:
        expected = str(uuid.uuid5(SCORE_ID_NAMESPACE, f"{trace}\x1f{obs or ''}\x1f{name}"))
        assert score_id(trace, name, obs) == expected
    assert score_id("t1", "a") != score_id("t1", "b") != score_id("t2", "a")
    assert score_id("t1", "a", "o1") != score_id("t1", "a")
