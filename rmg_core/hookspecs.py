"""The hooks a plugin implements.  All are registration hooks except ``register_commands``.

A plugin module decorates functions with ``rmg_core.hookimpl``; an
implementation may take fewer arguments than the spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from .components import Aggregator, Grader, Sink, Source

hookspec = pluggy.HookspecMarker("rmg")
hookimpl = pluggy.HookimplMarker("rmg")


@hookspec
def register_graders(register: Callable[[type[Grader]], None]) -> None:
    """Call ``register(GraderClass)`` for each grader the plugin provides."""


@hookspec
def register_aggregators(register: Callable[[type[Aggregator]], None]) -> None:
    """Call ``register(AggregatorClass)`` for each aggregator the plugin provides."""


@hookspec
def register_sources(register: Callable[[type[Source]], None]) -> None:
    """Call ``register(SourceClass)`` for each trace source the plugin provides."""


@hookspec
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    """Call ``register(SinkClass)`` for each result sink the plugin provides."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``rmg`` command group with ``@cli.command()``."""
