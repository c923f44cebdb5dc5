"""ROC AUC of each similarity measure at telling paraphrases from non-paraphrases (dataset.jsonl).

    python benchmarks/paraphrase_eval/evaluate.py
    python benchmarks/paraphrase_eval/evaluate.py --openai-base-url http://localhost:8000/v1 --openai-model bge-m3

Grades the 190 labelled pairs with ``semantic_similarity`` (the local
WordLlama backend, and an OpenAI-compatible endpoint if given) and with the
lexical ``similarity`` algorithms, all through ``GradingRunner``, and prints
each one's ROC AUC over all pairs and over the hard ones only (paraphrases
against ``same_words`` and ``sibling`` pairs, where the words overlap but the
meaning differs).  AUC 0.5 is chance, 1.0 a perfect ranking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

LEXICAL = [("cosine (TF-IDF, words 1-2)", {"algorithm": "cosine"}),
           ("cosine (TF-IDF, words)", {"algorithm": "cosine", "ngram_range": (1, 1)}),
           ("token_f1", {"algorithm": "token_f1"}), ("jaccard", {"algorithm": "jaccard"}),
           ("bleu", {"algorithm": "bleu"}), ("chrf", {"algorithm": "chrf"}), ("rougeL", {"algorithm": "rougeL"}),
           ("meteor (no WordNet)", {"algorithm": "meteor"}), ("fuzzy_match", {"algorithm": "fuzzy_match"}),
           ("edit_distance", {"algorithm": "edit_distance"})]
HARD_NEGATIVES = ("same_words", "sibling")


def auc(labels: list[int], scores: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openai-base-url")
    parser.add_argument("--openai-model")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from rmg_core import GraderScore, GradingRunner
    from rmg_embeddings import SemanticSimilarityGrader
    from rmg_similarity import SimilarityGrader

    rows = [json.loads(line) for line in (HERE / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    graders: list[tuple[str, Any]] = [("semantic_similarity (local WordLlama 256)", SemanticSimilarityGrader())]
    if args.openai_base_url:
        graders.append((f"semantic_similarity ({args.openai_model})", SemanticSimilarityGrader(
            backend="openai", base_url=args.openai_base_url, model=args.openai_model)))
    graders += [(label, SimilarityGrader(**settings)) for label, settings in LEXICAL]
    data = [{"prediction": r["a"], "reference": r["b"]} for r in rows]
    hard = [i for i, r in enumerate(rows) if r["label"] == 1 or r["kind"] in HARD_NEGATIVES]
    labels = [r["label"] for r in rows]
    results = []
    for label, grader in graders:
        column = GradingRunner(grader_configs={"g": grader}).run(data)["g"]
        if not all(isinstance(r, GraderScore) for r in column):
            raise SystemExit(f"{label}: some pairs were not scored: {[r for r in column if not isinstance(r, GraderScore)][:1]}")
        scores = [r.score for r in column]
        results.append({"measure": label, "auc_all": auc(labels, scores),
                        "auc_hard": auc([labels[i] for i in hard], [scores[i] for i in hard])})
    if args.json:
        print(json.dumps({"pairs": len(rows), "hard_pairs": len(hard), "results": results}))
        return 0
    print(f"{len(rows)} pairs ({sum(labels)} paraphrases); hard subset: {len(hard)} pairs")
    print("| measure | ROC AUC, all pairs | ROC AUC, hard pairs |")
    print("|---|---|---|")
    for r in results:
        print(f"| {r['measure']} | {r['auc_all']:.3f} | {r['auc_hard']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
