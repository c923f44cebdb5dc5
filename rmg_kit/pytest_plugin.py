"""The kit for testing rmg plugins: pytest fixtures and conformance checks.

pytest loads this module in every session of an environment where rmg is
installed (entry point ``pytest11``: ``rmg``), so it imports nothing but
pytest and rmg's light core package; the runner, the CLI and the conformance
checks are imported when a fixture or a check is first used.

Fixtures:

* ``rmg_host_factory(*plugins, environ=None, installed=False)`` — a fresh
  `PluginHost` with only the given plugins (modules or ``(name, object)``
  pairs), strict, so a broken hook fails the test instead of warning;
  ``installed="builtin"`` adds rmg's built-in plugins, ``installed=True``
  every installed plugin (both leniently).
* ``rmg_grade(grader, cases, **runner_options)`` — grade a list of case
  dicts through the real `GradingRunner`; returns the grader's results.
* ``rmg_cli(*args, plugins=(), env=None, installed="builtin")`` — run an
  ``rmg`` command in process with rmg's built-in plugins plus ``plugins``
  registered directly (no ``pip install`` needed), so another installed
  plugin cannot break the test; returns the click ``Result``.

Checks (importable without pytest running, from ``rmg_kit``): ``check_grader``,
``check_aggregator``, ``check_sink``, ``sample_records``, ``ConformanceError``
— see `rmg_kit.conformance`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import pytest

if TYPE_CHECKING:  # pragma: no cover - types only
    from click.testing import Result

    from rmg_core import Grader, GraderResult, PluginHost

_LAZY = ("check_aggregator", "check_grader", "check_sink", "sample_records", "ConformanceError", "ConformanceReport", "HOSTILE_VALUES")


def __getattr__(name: str) -> Any:
    # The checks live in their own module, imported on first use so that a
    # pytest session that never calls one does not import the runner.
    if name in _LAZY:
        import rmg_kit

        return getattr(rmg_kit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plugin_pairs(plugins: Iterable[Any]) -> list[tuple[str, Any]]:
    """``(name, object)`` pairs from modules, objects or pairs."""
    pairs = []
    for plugin in plugins:
        if isinstance(plugin, tuple) and len(plugin) == 2 and isinstance(plugin[0], str):
            pairs.append(plugin)
        else:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            pairs.append((name, plugin))
    return pairs


def make_host(
    *plugins: Any,
    environ: Optional[Mapping[str, str]] = None,
    installed: Union[bool, str] = False,
    strict: Optional[bool] = None,
) -> PluginHost:
    """A fresh plugin host holding ``plugins``, plus installed ones as ``installed`` says.

    ``installed``: ``False`` (only ``plugins``), ``"builtin"`` (plus rmg's own
    built-in plugins: what a plugin's tests usually want, since another
    installed third-party plugin cannot break them), or ``True`` (every
    installed plugin).  Strict by default when only the given plugins are
    loaded, so a bad hook fails the test; lenient otherwise.

    Plugins given directly that are also installed (an editable install of the
    plugin under test) are taken from the arguments only, so nothing is
    registered twice.
    """
    from importlib import metadata

    from rmg_core import ENTRY_POINT_GROUP, load_plugins

    pairs = _plugin_pairs(plugins)
    entry_points: list[Any] = []
    if installed:
        given = {getattr(obj, "__name__", None) for _, obj in pairs}
        entry_points = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.value not in given]
        if installed == "builtin":
            entry_points = [ep for ep in entry_points if _distribution(ep) == "rmg"]
    if strict is None:
        strict = not installed
    return load_plugins(environ=dict(environ or {}), entry_points=entry_points, plugins=pairs, strict=strict)


def _distribution(entry_point: Any) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.metadata["Name"] if dist is not None else ""


def grade(grader: Grader, cases: Sequence[Mapping[str, Any]], **runner_options: Any) -> list[GraderResult]:
    """Grade ``cases`` (dicts of runner fields) with ``grader`` through `GradingRunner`."""
    from rmg_core import GradingRunner

    runner = GradingRunner({"grader": grader}, **runner_options)
    return list(runner.run(list(cases))["grader"])


def invoke_cli(
    *args: str, plugins: Iterable[Any] = (), env: Optional[Mapping[str, str]] = None, installed: Union[bool, str] = "builtin",
) -> Result:
    """Run ``rmg ARGS`` in process with ``plugins`` plus rmg's built-in plugins.

    ``installed=True`` loads every installed plugin instead of only the
    built-ins.  The command shell is built for this host alone, so nothing
    leaks into other tests.  ``env`` sets the ``RMG_*`` variables plugin
    loading reads; the test process's own are not used.
    """
    from click.testing import CliRunner

    from rmg_core.cli import build_cli

    host = make_host(*plugins, environ=env, installed=installed, strict=False)
    return CliRunner().invoke(build_cli(host), list(args), obj=host, env=dict(env or {}))


@pytest.fixture
def rmg_host_factory() -> Callable[..., PluginHost]:
    """Build fresh plugin hosts: ``rmg_host_factory(my_plugin_module)``."""
    return make_host


@pytest.fixture
def rmg_grade() -> Callable[..., list[GraderResult]]:
    """Grade cases through the real runner: ``rmg_grade(MyGrader(), [{"prediction": "..."}])``."""
    return grade


@pytest.fixture
def rmg_cli() -> Callable[..., Result]:
    """Run rmg commands in process: ``rmg_cli("eval", "t.jsonl", "-g", "mine", plugins=[my_plugin])``.

    Only ``plugins`` and rmg's built-ins are loaded; pass ``installed=True`` for every installed plugin.
    """
    return invoke_cli


__all__ = ["grade", "invoke_cli", "make_host", "rmg_cli", "rmg_grade", "rmg_host_factory", *_LAZY]
