"""The hooks a plugin implements.  All are registration hooks except ``register_commands``.

A plugin module decorates functions with ``rmg_core.hookimpl``; an
implementation may take fewer arguments than the spec, so a spec can grow
without breaking plugins.  docs/hooks.md has an example under each hook.

Every ``register`` below also takes a name and a lazy reference instead of
the class: ``register("keyword", "my_plugin.grader:KeywordGrader")`` (or a
function taking no arguments that returns the class).  rmg imports it when a
run first asks for that name, so ``rmg --help`` and ``rmg plugins`` import
no component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from .components import Aggregator, Executor, Grader, Sink, Source
    from .observers import RunObserver

hookspec = pluggy.HookspecMarker("rmg")
hookimpl = pluggy.HookimplMarker("rmg")


@hookspec
def register_graders(register: Callable[[type[Grader]], None]) -> None:
    """Call ``register(GraderClass)`` for each grader the plugin provides.

    :param register: takes a `Grader` subclass with a unique ``name``.
    """


@hookspec
def register_aggregators(register: Callable[[type[Aggregator]], None]) -> None:
    """Call ``register(AggregatorClass)`` for each aggregator the plugin provides.

    :param register: takes an `Aggregator` subclass with a unique ``name``.
    """


@hookspec
def register_sources(register: Callable[[type[Source]], None]) -> None:
    """Call ``register(SourceClass)`` for each trace source the plugin provides.

    :param register: takes a `Source` subclass with a unique ``name``.
    """


@hookspec
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    """Call ``register(SinkClass)`` for each result sink the plugin provides.

    :param register: takes a `Sink` subclass with a unique ``name``.
    """


@hookspec
def register_run_observers(register: Callable[[type[RunObserver]], None]) -> None:
    """Call ``register(ObserverClass)`` for each run observer the plugin provides.

    A run observer adds options to ``rmg eval``, sees every graded chunk and
    acts when the run ends (reports, CI gates, progress displays).

    :param register: takes a `RunObserver` subclass with a unique ``name``.
    """


@hookspec
def register_executors(register: Callable[[type[Executor]], None]) -> None:
    """Call ``register(ExecutorClass)`` for each executor (where work units run) the plugin provides.

    An executor runs ``rmg eval``'s work units somewhere other than the
    calling process: local worker processes (the built-in ``processes``), a
    Ray cluster (``rmg[ray]``), your engine.  Users pick one with
    ``--executor NAME`` or ``[executor] plugin = "NAME"``.  The core never
    imports an engine: import it in `Executor.open`, not at module level.

    :param register: call it with each `rmg_core.Executor` subclass.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``rmg`` command group with ``@cli.command()`` or ``cli.add_command``.

    :param cli: the ``rmg`` group built for this run; ``cli.commands["plugins"]``
        is the ``rmg plugins`` group, for subcommands of it.
    """
