"""The ``fake_langfuse`` pytest fixture: a fresh fake server per test, no spec violations allowed.

Import it into a conftest (``from tests.fake_langfuse.fixtures import fake_langfuse``).
A test that provokes violations on purpose calls ``fake_langfuse.allow_violations()``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .fake import FakeLangfuse


@pytest.fixture
def fake_langfuse() -> Iterator[FakeLangfuse]:
    """A started `FakeLangfuse` (array score dialect, no faults, no traces)."""
    with FakeLangfuse() as fake:
        yield fake
        if not fake.violations_allowed:
            found = fake.violations()
            assert not found, "Langfuse spec violations:\n" + "\n".join(f"  {v}" for v in found)


__all__ = ["fake_langfuse"]
