"""The trace shapes people already have, recognised from the first traces of a file.

Each shape says which of its keys hold rmg's fields.  Detection looks at the
first few traces; a shape matches when most of them have its telltale keys.
An explicit mapping (``--map``, ``fields``) always wins over a detected one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence


@dataclass(frozen=True)
class Shape:
    """A known trace shape: its name, the keys that identify it, and field -> path."""

    name: str
    keys: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)
    #: Optional fields, mapped only when the traces have them.
    optional: dict[str, str] = field(default_factory=dict)

    def mapping_for(self, samples: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        out = dict(self.fields)
        for target, path in self.optional.items():
            if any(path.split(".")[0] in s for s in samples):
                out[target] = path
        return out


#: Most specific first.  rmg's own shape (id, input, output, expected) needs no mapping.
SHAPES: tuple[Shape, ...] = (
    Shape("Ragas dataset", ("user_input", "response"), {"input": "user_input", "prediction": "response"},
          {"reference": "reference"}),
    Shape("Ragas dataset", ("question", "answer"), {"input": "question", "prediction": "answer"},
          {"reference": "ground_truth"}),
    Shape("DeepEval dataset", ("input", "actual_output"), {"input": "input", "prediction": "actual_output"},
          {"reference": "expected_output"}),
    Shape("OpenAI evals sample", ("input", "ideal"), {"input": "input", "reference": "ideal"},
          {"prediction": "completion"}),
    # Graders reduce a chat by role: the input to its last user message, the prediction to its last assistant one.
    Shape("chat-message list", ("messages",), {"input": "messages", "prediction": "messages"},
          {"reference": "ideal"}),
    Shape("Langfuse trace export", ("id", "input", "output", "htmlPath")),
    Shape("Langfuse trace export", ("id", "input", "output", "sessionId", "latency")),
)


def detect_shape(samples: Sequence[Any]) -> Optional[Shape]:
    """The first shape whose keys most of ``samples`` (dicts) have, or ``None``."""
    dicts = [s for s in samples if isinstance(s, Mapping)]
    if not dicts:
        return None
    for shape in SHAPES:
        have = sum(1 for s in dicts if all(k in s for k in shape.keys))
        if have * 2 > len(dicts):
            return shape
    return None


def describe_mapping(mapping: Mapping[str, str]) -> str:
    """``question -> input, answer -> prediction``."""
    return ", ".join(f"{path} -> {target}" for target, path in mapping.items())
