"""The baseline of bench_langfuse.py: the langfuse SDK's own `run_batched_evaluation`.

Run in its own process (the SDK keeps one client per public key per process).
The same graders as rmg's run, wrapped as SDK evaluators, at the SDK's default
settings; a composite evaluator computes the equal-weight sum.  Prints one JSON
line: seconds, items processed, scores created.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from langfuse import Evaluation, EvaluatorInputs, Langfuse
from rmg_core import GraderScore
from rmg_relevance import RelevanceGrader
from rmg_similarity import SimilarityGrader

similarity, relevance = SimilarityGrader(), RelevanceGrader()


def _parse(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def mapper(*, item: Any) -> EvaluatorInputs:
    metadata = item.metadata or {}
    return EvaluatorInputs(
        input=_parse(item.input), output=_parse(item.output),
        expected_output=_parse(metadata.get("expected_output")), metadata={"trace_id": item.trace_id},
    )


async def similarity_evaluator(*, input: Any, output: Any, expected_output: Any, metadata: Any, **_: Any) -> list[Evaluation]:
    if expected_output is None:
        return []
    result = await similarity.aevaluate(prediction=output, reference=expected_output)
    return [Evaluation(name="similarity", value=result.score, comment=result.reason)] if isinstance(result, GraderScore) else []


async def relevance_evaluator(*, input: Any, output: Any, expected_output: Any, metadata: Any, **_: Any) -> list[Evaluation]:
    result = await relevance.aevaluate(input=input, prediction=output)
    return [Evaluation(name="relevance", value=result.score, comment=result.reason)] if isinstance(result, GraderScore) else []


def weighted_sum(*, evaluations: list[Evaluation], **_: Any) -> list[Evaluation]:
    values = [e.value for e in evaluations if isinstance(e.value, (int, float))]
    return [Evaluation(name="weighted_sum", value=sum(values) / len(values))] if values else []


def main() -> None:
    client = Langfuse(
        public_key=os.environ["LANGFUSE_PUBLIC_KEY"], secret_key=os.environ["LANGFUSE_SECRET_KEY"],
        base_url=os.environ["LANGFUSE_BASE_URL"],
    )
    started = time.perf_counter()
    result = client.run_batched_evaluation(
        # Root observations only, as rmg reads them: one item per trace.
        filter='[{"type": "boolean", "column": "isRootObservation", "operator": "=", "value": true}]',
        mapper=mapper, evaluators=[similarity_evaluator, relevance_evaluator], composite_evaluator=weighted_sum,
    )
    client.flush()
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds, "processed": result.total_items_processed,
        "scores": result.total_scores_created + result.total_composite_scores_created,
    }))


if __name__ == "__main__":
    main()
