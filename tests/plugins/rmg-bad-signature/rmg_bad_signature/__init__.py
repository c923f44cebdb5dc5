"""Test fixture: ``register_graders`` takes ``registry`` where the hook passes ``register``.

pluggy refuses such an implementation at registration; rmg must skip the
plugin with a warning naming ``bad_signature``.
"""

from rmg_core import Grader, GraderScore, hookimpl


class NeverRegisteredGrader(Grader):
    """Would be registered with a correct signature; rmg must not pick it up."""

    name = "bad_signature_grader"

    async def aevaluate(self, **fields):
        return GraderScore(score=1.0)


@hookimpl
def register_graders(registry):  # the hook's argument is named `register`
    registry(NeverRegisteredGrader)
