"""Build dataset.jsonl, the labelled paraphrase / non-paraphrase pairs, deterministically.

    python benchmarks/paraphrase_eval/build_dataset.py

Two sources, each row ``{"id", "a", "b", "label", "kind"}`` (label 1 = same meaning):

=================  =====  ==============================================================
kind               label  pair
=================  =====  ==============================================================
paraphrase         1      seeds.py: a sentence and its paraphrase in other words
answer_paraphrase  1      relevance_eval: a question's direct answer and its paraphrased answer
same_words         0      seeds.py: a sentence and one with its words but another meaning
sibling            0      relevance_eval: a question's answer and the answer to its near-miss question
unrelated          0      seeds.py: a sentence and another group's sentence
=================  =====  ==============================================================
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from seeds import GROUPS  # noqa: E402


def rows() -> list[dict]:
    out = []
    for k, (sentence, paraphrase, same_words) in enumerate(GROUPS):
        out.append({"id": f"g{k:02d}-paraphrase", "a": sentence, "b": paraphrase, "label": 1, "kind": "paraphrase"})
        out.append({"id": f"g{k:02d}-same-words", "a": sentence, "b": same_words, "label": 0, "kind": "same_words"})
    rng = random.Random(16)
    for k, (sentence, _, _) in enumerate(GROUPS):
        other = rng.choice([g for j, g in enumerate(GROUPS) if j != k])
        out.append({"id": f"g{k:02d}-unrelated", "a": sentence, "b": other[1], "label": 0, "kind": "unrelated"})
    answers: dict[str, dict[str, str]] = {}
    for line in (HERE.parent / "relevance_eval" / "dataset.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        answers.setdefault(row["id"].rsplit("-", 1)[0], {})[row["kind"]] = row["answer"]
    for qid, kinds in sorted(answers.items()):
        if "direct" in kinds and "paraphrase" in kinds:
            out.append({"id": f"{qid}-answers", "a": kinds["direct"], "b": kinds["paraphrase"], "label": 1,
                        "kind": "answer_paraphrase"})
        if "direct" in kinds and "sibling" in kinds:
            out.append({"id": f"{qid}-sibling", "a": kinds["direct"], "b": kinds["sibling"], "label": 0, "kind": "sibling"})
    return out


def main() -> None:
    path = HERE / "dataset.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows()), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
