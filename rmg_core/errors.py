"""Exceptions that carry enough context for the user to fix the problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click


class RmgError(Exception):
    """Base class of every error rmg raises on purpose."""


class ConfigError(RmgError, ValueError):
    """A setting, config file entry or command-line option is wrong.

    The message names the file, table or option and says how to fix it.
    """


class PluginError(RmgError):
    """A plugin could not be loaded, or two plugins clash."""


class SourceError(RmgError):
    """A trace source failed as a whole (not one bad trace: those are `CaseError`)."""


class SinkError(RmgError):
    """A result sink failed as a whole (unreachable, not writable)."""


#: Exit status of a usage or configuration error (every ``rmg`` command).
EXIT_CONFIG = 2


def usage_exit(message: str) -> "click.exceptions.Exit":
    """Print ``rmg: error: <message>`` to stderr and return the exit (status 2) to raise."""
    import click

    click.echo(f"rmg: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_CONFIG)


class OutputError(RmgError):
    """An output file (scores, report, summary) could not be written; the message names it."""
