"""Test fixture: a plugin that misspells a hook (``register_grader``, singular).

Without a check this is a silent no-op; rmg must report it, naming ``bad_hook``.
"""

from rmg_core import Grader, GraderScore, hookimpl


class NeverRegisteredGrader(Grader):
    """Would be registered by a correctly spelt hook; rmg must not pick it up."""

    name = "bad_hook_grader"

    async def aevaluate(self, **fields):
        return GraderScore(score=1.0)


@hookimpl
def register_grader(register):  # the real hook is register_graders
    register(NeverRegisteredGrader)
