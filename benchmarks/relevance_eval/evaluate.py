"""ROC AUC of the lexical relevance measure against simple baselines on dataset.jsonl.

    python benchmarks/relevance_eval/evaluate.py            # markdown table
    python benchmarks/relevance_eval/evaluate.py --json     # machine-readable

Rows: measures.  Columns: AUC on all 300 rows, then AUC of relevant answers
against each kind of irrelevant answer, and of the *paraphrased* relevant
answers against all irrelevant ones (the hard case for word overlap).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
DATASET = HERE / "dataset.jsonl"
NEGATIVE_KINDS = ("sibling", "refusal", "off_topic", "boilerplate")


def load(path: Path = DATASET) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def measures() -> dict[str, Callable[[list[dict]], list[float]]]:
    """name -> function from rows to scores (higher = more relevant)."""
    from rmg_relevance import RelevanceGrader
    from rmg_relevance.lexical import STOP_WORDS, jaccard_baseline, score_pair, stem, tokens

    def per_pair(fn: Callable[[str, str], float]) -> Callable[[list[dict]], list[float]]:
        return lambda rows: [fn(r["question"], r["answer"]) for r in rows]

    def content_jaccard(q: str, a: str) -> float:
        qs = {stem(t) for t in tokens(q) if t not in STOP_WORDS}
        as_ = {stem(t) for t in tokens(a) if t not in STOP_WORDS}
        return len(qs & as_) / len(qs | as_) if qs | as_ else 0.0

    def tfidf_cosine(rows: list[dict]) -> list[float]:
        # Reference only: IDF fitted on this very set, which the grader may
        # not do (a score must not depend on the other cases).
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        vec.fit([r["question"] for r in rows] + [r["answer"] for r in rows])
        q = vec.transform([r["question"] for r in rows])
        a = vec.transform([r["answer"] for r in rows])
        return [float(x) for x in q.multiply(a).sum(axis=1).A1]

    def shipped(rows: list[dict]) -> list[float]:
        grader = RelevanceGrader()
        results = grader.evaluate_batch([{"input": r["question"], "prediction": r["answer"]} for r in rows])
        return [r.score for r in results]

    return {
        "word Jaccard (baseline)": per_pair(jaccard_baseline),
        "content-word Jaccard, stemmed": per_pair(content_jaccard),
        "TF-IDF cosine, IDF fitted on the set (reference)": tfidf_cosine,
        "term coverage only": per_pair(lambda q, a: score_pair(q, a, 1.0, 1.0).score),
        "char 4-gram coverage only": per_pair(lambda q, a: score_pair(q, a, 0.0, 1.0).score),
        "term + char coverage, no refusal penalty": per_pair(lambda q, a: score_pair(q, a, 0.5, 1.0).score),
        "coverage + refusal penalty x0.25": per_pair(lambda q, a: score_pair(q, a, 0.5, 0.25).score),
        "**shipped: RelevanceGrader() (coverage, refusals score 0)**": shipped,
    }


def auc(labels: list[int], scores: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def evaluate(rows: list[dict]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name, fn in measures().items():
        scores = fn(rows)
        assert all(math.isfinite(s) for s in scores), name
        labels = [r["label"] for r in rows]
        line = {"all": auc(labels, scores)}
        for kind in NEGATIVE_KINDS:
            keep = [i for i, r in enumerate(rows) if r["label"] == 1 or r["kind"] == kind]
            line[f"vs {kind}"] = auc([labels[i] for i in keep], [scores[i] for i in keep])
        keep = [i for i, r in enumerate(rows) if r["label"] == 0 or r["kind"] == "paraphrase"]
        line["paraphrase vs all neg."] = auc([labels[i] for i in keep], [scores[i] for i in keep])
        table[name] = line
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    args = parser.parse_args()
    rows = load()
    table = evaluate(rows)
    if args.json:
        print(json.dumps(table, indent=2))
        return
    n_pos = sum(r["label"] for r in rows)
    print(f"{len(rows)} rows: {n_pos} relevant, {len(rows) - n_pos} irrelevant ({DATASET.name})\n")
    columns = list(next(iter(table.values())))
    print("| measure | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, line in table.items():
        print(f"| {name} | " + " | ".join(f"{line[c]:.3f}" for c in columns) + " |")


if __name__ == "__main__":
    sys.exit(main())
