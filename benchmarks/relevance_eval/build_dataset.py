"""Build dataset.jsonl (the labelled relevance set) from seeds.py, deterministically.

    python benchmarks/relevance_eval/build_dataset.py

Each of the 50 questions gets six rows (300 in all, 100 relevant):

====================  =====  =====================================================
kind                  label  answer
====================  =====  =====================================================
direct                1      a relevant answer in the question's words
paraphrase            1      a relevant answer that avoids the question's words
sibling               0      the answer to the other question of its near-miss pair
refusal               0      a generic refusal that echoes the question's topic
off_topic             0      an answer from another domain
boilerplate           0      filler ("Thank you for reaching out! ...")
====================  =====  =====================================================
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from seeds import BOILERPLATE, PAIRS, REFUSALS  # noqa: E402

DATASET = HERE / "dataset.jsonl"


def build(seed: int = 20240601) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for pair_index, pair in enumerate(PAIRS):
        for side, item in enumerate(pair):
            sibling = pair[1 - side]
            other_pair = PAIRS[(pair_index + rng.randrange(1, len(PAIRS))) % len(PAIRS)]
            off_topic = rng.choice(other_pair)
            qid = f"q{pair_index:02d}{'ab'[side]}"
            answers = [
                ("direct", 1, item.direct),
                ("paraphrase", 1, item.paraphrase),
                ("sibling", 0, rng.choice((sibling.direct, sibling.paraphrase))),
                ("refusal", 0, rng.choice(REFUSALS).format(topic=item.topic)),
                ("off_topic", 0, rng.choice((off_topic.direct, off_topic.paraphrase))),
                ("boilerplate", 0, rng.choice(BOILERPLATE)),
            ]
            for kind, label, answer in answers:
                rows.append({"id": f"{qid}-{kind}", "question": item.question, "answer": answer,
                             "label": label, "kind": kind})
    return rows


def main() -> None:
    rows = build()
    with DATASET.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows ({sum(r['label'] for r in rows)} relevant) to {DATASET}")


if __name__ == "__main__":
    main()
