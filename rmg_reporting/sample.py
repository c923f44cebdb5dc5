"""The report's failure sample: failing and borderline cases drawn across score levels, not the lowest ties.

Per score, values are split into strata 0.1 wide (``floor(value * 10)``;
at most `MAX_STRATA` strata, further ones share one).  Each stratum keeps a
uniform random sample of `PER_STRATUM` cases (reservoir sampling, seeded, so
a run gives the same sample every time); a case's texts are only built when
it enters a reservoir, so a 200,000-trace run builds a few thousand.

At the end of the run the kept cases are labelled against the score's pass
threshold ``t`` (``--threshold``): **failing** below ``t``, **borderline**
from ``t`` to ``t + 0.1``.  Without a threshold the run's 25th percentile
stands in for ``t`` (failing at or below it).  `FAILING` cases are drawn in
turn from each failing stratum (lowest first), so every level of failure is
shown, then `BORDERLINE` cases the same way.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from rmg_core import EvalCase, ScoreRecord, answer_text, question_text

#: Cases kept per stratum and score while the run goes.
PER_STRATUM = 24
#: Distinct strata per score (a score on a wide scale shares one beyond this).
MAX_STRATA = 64
#: Failing and borderline cases shown per score.
FAILING = 30
BORDERLINE = 12
#: Width of a stratum, and of the borderline band above the threshold.
STRATUM = 0.1
#: Characters kept of each text (the report shows the first `PREVIEW_CHARS` and expands to the rest).
FULL_CHARS = 4000
PREVIEW_CHARS = 160
SEED = 20260501


def clip(text: str, limit: int = FULL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


@dataclass
class SampledCase:
    """One case as the report shows it (texts reduced with `rmg_core.text`, cut to `FULL_CHARS`)."""

    score: str
    value: float
    trace_id: str
    observation_id: Optional[str]
    input: str
    prediction: str
    reference: str
    reason: str
    groups: dict[str, str] = field(default_factory=dict)
    status: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stratum(value: float) -> int:
    return math.floor(value / STRATUM)


class _Reservoirs:
    """One score's strata, each with its seen count and kept cases."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: dict[int, int] = {}
        self.kept: dict[int, list[SampledCase]] = {}

    def slot(self, value: float) -> tuple[int, int]:
        """(stratum, index to store at) for a new value; index -1 means "not kept"."""
        key = _stratum(value)
        if key not in self.seen and len(self.seen) >= MAX_STRATA:
            key = min(self.seen, key=lambda k: abs(k - key))  # the nearest kept stratum
        n = self.seen.get(key, 0) + 1
        self.seen[key] = n
        if n <= PER_STRATUM:
            return key, n - 1
        j = self.rng.randrange(n)
        return key, j if j < PER_STRATUM else -1

    def store(self, key: int, index: int, case: SampledCase) -> None:
        kept = self.kept.setdefault(key, [])
        if index < len(kept):
            kept[index] = case
        else:
            kept.append(case)


class FailureSampler:
    """A chunk observer keeping a stratified sample of every numeric score's cases."""

    def __init__(self, group_labels: Any = None, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.scores: dict[str, _Reservoirs] = {}
        #: ``case -> {field: label}`` (the breakdown groups shown with each case), or None.
        self.group_labels = group_labels

    def __call__(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        by_id: Optional[dict[str, EvalCase]] = None
        texts: dict[str, tuple[str, str, str, dict[str, str]]] = {}
        for record in records:
            value = record.value
            if record.kind != "score" and record.kind != "rank" or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            reservoirs = self.scores.get(record.name)
            if reservoirs is None:
                reservoirs = self.scores[record.name] = _Reservoirs(self.rng)
            key, index = reservoirs.slot(value)
            if index < 0:
                continue
            if by_id is None:
                by_id = {case.id: case for case in cases}
            shown = texts.get(record.trace_id)
            if shown is None:
                case = by_id.get(record.trace_id)
                shown = texts[record.trace_id] = (
                    clip(question_text(case.input)) if case else "",
                    clip(answer_text(case.output)) if case else "",
                    clip(answer_text(case.expected)) if case else "",
                    dict(self.group_labels(case)) if self.group_labels and case else {},
                )
            reservoirs.store(key, index, SampledCase(
                score=record.name, value=float(value), trace_id=record.trace_id, observation_id=record.observation_id,
                input=shown[0], prediction=shown[1], reference=shown[2], reason=clip(record.comment or ""), groups=shown[3],
            ))

    def sample(self, name: str, threshold: Optional[float], cut: Optional[float]) -> list[SampledCase]:
        """The failing then borderline cases of score ``name``.

        ``threshold`` is the pass threshold; without one, ``cut`` (the run's
        25th percentile) marks failing cases (at or below it).
        """
        reservoirs = self.scores.get(name)
        if reservoirs is None:
            return []
        if threshold is not None:
            def failing(v: float) -> bool:
                return v < threshold

            def borderline(v: float) -> bool:
                return threshold <= v < threshold + STRATUM
        elif cut is not None:
            def failing(v: float) -> bool:
                return v <= cut

            def borderline(v: float) -> bool:
                return cut < v <= cut + STRATUM
        else:
            return []
        out: list[SampledCase] = []
        for label, wanted, limit in (("failing", failing, FAILING), ("borderline", borderline, BORDERLINE)):
            # Each reservoir is in random order already: take from its front.
            strata = [[c for c in reservoirs.kept[k] if wanted(c.value)] for k in sorted(reservoirs.kept)]
            strata = [s for s in strata if s]
            picked: list[SampledCase] = []
            depth = 0
            while len(picked) < limit and any(depth < len(s) for s in strata):
                for s in strata:  # round-robin: one from each level of failure in turn
                    if depth < len(s) and len(picked) < limit:
                        picked.append(s[depth])
                depth += 1
            for case in sorted(picked, key=lambda c: (c.value, c.trace_id)):
                case.status = label
                out.append(case)
        return out
