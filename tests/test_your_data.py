"""Bring your own data: every supported shape, mapping by CLI and config, selection, the diagnosis of an empty run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Optional

import pytest

from rmg_core import CaseError, EvalCase, answer_text, get_path, question_text
from rmg_kit import sample_fraction
from rmg_intake.intake import Intake, Selection
from rmg_local.source import LocalFileSource
from tests.conftest import ROOT
from tests.conftest import run_rmg as _run_rmg

SHAPES = Path(__file__).parent / "data" / "shapes"
QUIET_ENV = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}


def read(path: Path, fields: Optional[dict[str, str]] = None, **selection: Any) -> tuple[Intake, list[EvalCase], list[str]]:
    notices: list[str] = []
    intake = Intake(LocalFileSource(path=str(path)), fields=fields, selection=Selection(**selection), notice=notices.append)

    async def run() -> list[EvalCase | CaseError]:
        return [c async for c in intake.cases()]

    items = asyncio.run(run())
    assert not [i for i in items if isinstance(i, CaseError)], items
    return intake, [i for i in items if isinstance(i, EvalCase)], notices


@pytest.mark.parametrize("name, shape, first", [
    ("ragas.jsonl", "Ragas dataset", ("What is the refund window?", "You can return items within 30 days of delivery.", "Items can be returned within 30 days of delivery.")),
    ("ragas_v2.jsonl", "Ragas dataset", ("What is the refund window?", "30 days from delivery.", "Items can be returned within 30 days of delivery.")),
    ("deepeval.json", "DeepEval dataset", ("What is the refund window?", "You can return items within 30 days.", "Items can be returned within 30 days of delivery.")),
    ("openai_evals.jsonl", "OpenAI evals sample", (None, None, "Paris")),
    ("chat.jsonl", "chat-message list", (None, None, None)),
    ("langfuse_export.json", "Langfuse trace export", (None, None, "Items can be returned within 30 days of delivery.")),
    ("langfuse_export.csv", "Langfuse trace export", (None, None, "Items can be returned within 30 days of delivery.")),
])
def test_each_shape_is_detected_announced_and_mapped(name: str, shape: str, first: tuple) -> None:
    intake, cases, notices = read(SHAPES / name)
    assert intake.shape is not None and intake.shape.name == shape
    assert notices and notices[0].startswith(f"detected a {shape}")
    case = cases[0]
    for wanted, got in zip(first, (case.input, case.output, case.expected)):
        if wanted is not None:
            assert got == wanted
    assert all(c.id for c in cases) and len({c.id for c in cases}) == len(cases)
    fields = case.grader_fields()
    assert question_text(fields["input"]).strip() and (name.startswith("openai") or answer_text(fields["prediction"]).strip())


def test_chat_lists_reduce_to_the_last_user_and_assistant_messages() -> None:
    _, cases, _ = read(SHAPES / "chat.jsonl")
    assert [question_text(c.input) for c in cases] == ["Where is my order?", "Can I change my delivery address?"]
    assert answer_text(cases[0].output) == "Your order shipped yesterday and arrives Friday."


def test_ids_derived_from_content_are_stable_and_announced() -> None:
    _, a, notices = read(SHAPES / "ragas.jsonl")
    _, b, _ = read(SHAPES / "ragas.jsonl")
    assert [c.id for c in a] == [c.id for c in b] and all(c.id.startswith("h_") for c in a)
    assert any("no 'id'" in n for n in notices)


def test_an_explicit_mapping_wins_over_detection_and_paths_reach_lists() -> None:
    _, cases, notices = read(SHAPES / "langfuse_export.json", fields={"prediction": "output.content", "input": "input.messages.-1.content",
                                                                       "reference": "metadata.expected_output"})
    assert cases[0].input == "What is the refund window?" and cases[0].output == "You can return items within 30 days of delivery."
    _, cases, notices = read(SHAPES / "ragas.jsonl", fields={"reference": "contexts.0"})
    assert cases[0].expected == "Returns are accepted within 30 days of delivery."  # not ground_truth: the user's mapping won
    assert "ground_truth" not in notices[0] and "question -> input" in notices[0]


def test_a_mapping_that_matches_nothing_is_a_warning_naming_the_keys() -> None:
    _, _, notices = read(SHAPES / "ragas.jsonl", fields={"reference": "gold"})
    assert any("reference=gold matches nothing" in n and "question, answer" in n for n in notices)


def test_where_sample_and_limit() -> None:
    _, cases, _ = read(SHAPES / "langfuse_export.json", where={"metadata.app": "docs-qa"})
    assert [c.id for c in cases] == ["lf-trace-1", "lf-trace-3"]
    _, cases, _ = read(SHAPES / "langfuse_export.json", sample=0.5)
    ids = ["lf-trace-1", "lf-trace-2", "lf-trace-3"]
    assert [c.id for c in cases] == [i for i in ids if sample_fraction(i) < 0.5]
    _, cases, _ = read(SHAPES / "langfuse_export.json", limit=2)
    assert len(cases) == 2


def test_a_source_without_raw_traces_is_mapped_and_filtered_from_its_cases() -> None:
    """A source that only yields cases (as the Langfuse source does) is mapped from each case's trace."""
    from rmg_core import Source, case_from_mapping

    class Cases(Source):
        name = "cases"

        async def cases(self):  # type: ignore[no-untyped-def]
            for i, app in enumerate(("docs-qa", "other")):
                yield case_from_mapping({"id": f"t{i}", "input": "q", "output": {"text": "a", "score": i},
                                         "metadata": {"app": app, "gold": "a"}}, location=f"trace t{i}")

    notices: list[str] = []
    intake = Intake(Cases(), fields={"prediction": "output.text", "reference": "metadata.gold"},
                    selection=Selection(where={"metadata.app": "docs-qa"}), notice=notices.append)

    async def run() -> list[EvalCase | CaseError]:
        return [c async for c in intake.cases()]

    [case] = asyncio.run(run())
    assert (case.id, case.output, case.expected) == ("t0", "a", "a")


def test_paths() -> None:
    trace = {"output": {"choices": [{"message": {"content": "hi"}}]}, "messages": [{"content": "a"}, {"content": "b"}],
             "a.b": 1, "s": '{"k": [1, 2]}'}
    assert get_path(trace, "output.choices.0.message.content") == "hi"
    assert get_path(trace, "messages.-1.content") == "b" and get_path(trace, "messages[0].content") == "a"
    assert get_path(trace, "a.b") == 1 and get_path(trace, "s.k.1") == 2
    assert not get_path(trace, "output.choices.5")


def run_rmg(*args: str, cwd: Path = ROOT, input: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    return _run_rmg(*args, env=QUIET_ENV, cwd=cwd, input=input)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["ragas.jsonl", "langfuse_export.json"])
def test_a_users_file_grades_end_to_end_with_no_flags(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out.jsonl"
    done = run_rmg("eval", str(SHAPES / name), "-g", "similarity", "-g", "relevance", "-a", "weighted_sum", "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    scores = [r for r in rows if r["kind"] == "score"]
    assert {r["name"] for r in scores} == {"similarity", "relevance", "weighted_sum"}
    assert "detected a" in done.stderr and "NOTHING GRADED" not in done.stderr


@pytest.mark.integration
def test_mapping_from_the_cli_and_from_config_and_the_hint_of_an_empty_run(tmp_path: Path) -> None:
    data = tmp_path / "own.jsonl"
    data.write_text(json.dumps({"id": "1", "q": "what is x", "resp": {"choices": [{"message": {"content": "x is y"}}]},
                                "meta": {"gold": "x is y"}}) + "\n")
    bare = run_rmg("eval", str(data), "-g", "similarity")
    assert bare.returncode == 4 and "NOTHING GRADED" in bare.stderr and "--map prediction=" in bare.stderr and "q, resp, meta" in bare.stderr
    assert "grader_configs" not in bare.stderr
    mapped = run_rmg("eval", str(data), "-g", "similarity", "--map", "prediction=resp.choices.0.message.content",
                     "--map", "similarity.reference=meta.gold", "-o", "-")
    assert mapped.returncode == 0, mapped.stderr
    assert json.loads(mapped.stdout.splitlines()[0])["value"] == 1.0
    config = tmp_path / "eval.toml"
    config.write_text(f'[source]\nplugin = "local"\npath = {json.dumps(str(data))}\n'
                      'fields = { prediction = "resp.choices.0.message.content" }\n'
                      '[graders.similarity]\nplugin = "similarity"\nfields = { reference = "meta.gold" }\n')
    by_config = run_rmg("eval", "-c", str(config), "-o", "-")
    assert by_config.returncode == 0 and json.loads(by_config.stdout.splitlines()[0])["value"] == 1.0
    config.write_text(f'[source]\nplugin = "local"\npath = {json.dumps(str(data))}\n[graders.similarity]\nplugin = "similarity"\n')
    hinted = run_rmg("eval", "-c", str(config))
    assert 'fields = { prediction = "<key>" } in [source]' in hinted.stderr and "--map" not in hinted.stderr.split("NOTHING GRADED")[1]
    typo = run_rmg("eval", str(data), "-g", "similarity", "--map", "refrence=meta.gold")
    assert typo.returncode == 2 and "'refrence'" in typo.stderr and "similarity takes prediction, reference" in typo.stderr


@pytest.mark.integration
def test_inspect_shows_what_each_grader_receives_and_writes_nothing(tmp_path: Path) -> None:
    done = run_rmg("inspect", str(SHAPES / "openai_evals.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "shape: OpenAI evals sample" in done.stdout and "reference (from ideal): Paris" in done.stdout
    assert "not applicable to 1 of 2 traces read" in done.stdout  # one sample has no completion
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_standard_input_may_be_a_json_array() -> None:
    done = run_rmg("eval", "-", "-g", "relevance", "-o", "-", input=(SHAPES / "langfuse_export.json").read_text())
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2  # the third trace has no output: not applicable, not written
