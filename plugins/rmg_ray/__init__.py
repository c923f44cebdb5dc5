"""Run ``rmg eval`` on a Ray cluster: ``--executor ray`` (needs ``pip install 'rmg[ray]'``).

Nothing here imports Ray: the executor imports it when a run opens it, so
``rmg --help`` and every run without ``--executor ray`` stay as fast as before.
"""

from __future__ import annotations

from rmg_core import hookimpl


@hookimpl
def register_executors(register):  # type: ignore[no-untyped-def]
    register("ray", "rmg_ray.executor:RayExecutor")  # imported when a run considers it
