"""The report's failure sample: failing and borderline cases drawn across score levels, not the lowest ties.

Per score, values are split into strata 0.1 wide (``floor(value / 0.1)``;
at most `MAX_STRATA` strata, a value beyond them joins the nearest).  Each
stratum keeps a uniform random sample of `PER_STRATUM` cases (reservoir
sampling, Li's Algorithm L, seeded, so a run gives the same sample every
time); a case's texts are only built when it enters a reservoir, so a
200,000-trace run builds a few thousand.

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

from .collector import truncate

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


class _Stratum:
    """One stratum's reservoir: Li's "Algorithm L", which draws how many values to skip before the next
    one is kept, so a value that is not kept costs a counter and a comparison, not a random number."""

    __slots__ = ("seen", "next_at", "weight", "kept")

    def __init__(self) -> None:
        self.seen = 0
        self.next_at = 0  # the count at which the next value is kept, once the reservoir is full
        self.weight = 1.0
        self.kept: list[SampledCase] = []

    def admit(self, rng: random.Random) -> int:
        """The slot for the value just counted (``seen`` of them so far), or -1 when it is not kept."""
        n = self.seen
        if n <= PER_STRATUM:
            if n == PER_STRATUM:
                self._skip(rng)
            return n - 1
        if n < self.next_at:
            return -1
        self._skip(rng)
        return rng.randrange(PER_STRATUM)

    def _skip(self, rng: random.Random) -> None:
        self.weight *= math.exp(math.log(1.0 - rng.random()) / PER_STRATUM)
        gap = math.floor(math.log(1.0 - rng.random()) / math.log1p(-self.weight)) if self.weight < 1.0 else 0
        self.next_at = self.seen + gap + 1

    def store(self, index: int, case: SampledCase) -> None:
        if index < len(self.kept):
            self.kept[index] = case
        else:
            self.kept.append(case)


class FailureSampler:
    """A chunk observer keeping a stratified sample of every numeric score's cases."""

    def __init__(self, group_labels: Any = None, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        #: score name -> stratum (floor(value / STRATUM)) -> its reservoir
        self.scores: dict[str, dict[int, _Stratum]] = {}
        #: ``case -> {field: label}`` (the breakdown groups shown with each case), or None.
        self.group_labels = group_labels

    def __call__(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        by_id: Optional[dict[str, EvalCase]] = None
        texts: dict[str, tuple[str, str, str, dict[str, str]]] = {}
        rng, floor = self.rng, math.floor
        name: Optional[str] = None
        strata: dict[int, _Stratum] = {}
        for record in records:
            value = record.value
            if not (type(value) is float or isinstance(value, int) and not isinstance(value, bool)):
                continue  # errors, not-applicable, listwise ranks
            if record.name != name:
                name = record.name
                strata = self.scores.setdefault(name, {})
            key = floor(value / STRATUM)
            stratum = strata.get(key)
            if stratum is None:
                if len(strata) >= MAX_STRATA:
                    stratum = strata[min(strata, key=lambda k: abs(k - key))]  # the nearest kept stratum
                else:
                    stratum = strata[key] = _Stratum()
            stratum.seen += 1
            if stratum.seen > PER_STRATUM and stratum.seen < stratum.next_at:
                continue  # the common case at scale: not kept, nothing else to do
            index = stratum.admit(rng)
            if index < 0:
                continue
            if by_id is None:
                by_id = {case.id: case for case in cases}
            shown = texts.get(record.trace_id)
            if shown is None:
                case = by_id.get(record.trace_id)
                shown = texts[record.trace_id] = (
                    truncate(question_text(case.input), FULL_CHARS) if case else "",
                    truncate(answer_text(case.output), FULL_CHARS) if case else "",
                    truncate(answer_text(case.expected), FULL_CHARS) if case else "",
                    dict(self.group_labels(case)) if self.group_labels and case else {},
                )
            stratum.store(index, SampledCase(
                score=name, value=float(value), trace_id=record.trace_id, observation_id=record.observation_id,
                input=shown[0], prediction=shown[1], reference=shown[2], reason=truncate(record.comment or "", FULL_CHARS), groups=shown[3],
            ))

    def sample(self, name: str, threshold: Optional[float], cut: Optional[float]) -> list[SampledCase]:
        """The failing then borderline cases of score ``name``.

        ``threshold`` is the pass threshold; without one, ``cut`` (the run's
        25th percentile) marks failing cases (at or below it).
        """
        strata = self.scores.get(name)
        if strata is None:
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
            levels = [[c for c in strata[k].kept if wanted(c.value)] for k in sorted(strata)]
            levels = [level for level in levels if level]
            picked: list[SampledCase] = []
            depth = 0
            while len(picked) < limit and any(depth < len(level) for level in levels):
                for level in levels:  # round-robin: one from each level of failure in turn
                    if depth < len(level) and len(picked) < limit:
                        picked.append(level[depth])
                depth += 1
            for case in sorted(picked, key=lambda c: (c.value, c.trace_id)):
                case.status = label
                out.append(case)
        return out
