"""A grader for executor tests: ``ms`` of thread CPU per case, a score that depends on the trace id only.

``marker`` (a file path) makes each batch append ``start <first trace id> <pid>``
before it burns, so a test can find the process grading a unit and kill it.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any, Mapping, Sequence

from pydantic import Field

from rmg_core import Grader, GraderScore, Settings, hookimpl


class BurnSettings(Settings):
    ms: float = Field(2.0, ge=0, description="Thread CPU milliseconds burned per case.")
    marker: str = Field("", description="Append 'start <first trace id> <pid>' here before each batch.")


class BurnGrader(Grader):
    name = "burn"
    Settings = BurnSettings
    settings: BurnSettings
    required_fields = ("trace_id",)
    batch_size = 500

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> Sequence[GraderScore]:
        if self.settings.marker and items:
            with open(self.settings.marker, "a", encoding="utf-8") as handle:
                handle.write(f"start {items[0]['trace_id']} {os.getpid()}\n")
        out = []
        for item in items:
            deadline = time.thread_time() + self.settings.ms / 1000
            while time.thread_time() < deadline:
                pass
            digest = hashlib.sha256(str(item["trace_id"]).encode()).digest()
            out.append(GraderScore(name="burn", score=int.from_bytes(digest[:4], "big") / 2**32, reason="burned"))
        return out


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register(BurnGrader)
