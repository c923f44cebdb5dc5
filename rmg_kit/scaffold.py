"""``rmg plugins new NAME``: render a working plugin package from the bundled template.

The package it writes is complete: a ``pyproject.toml`` with the ``rmg``
entry point, a package whose ``__init__`` registers the component through a
hook, a starter grader (or sink) that works as it is, tests that use the
plugin kit (`rmg_kit`) and pass out of the box, and a README.

Templates live in ``rmg_kit/templates/plugin/``: ``common/`` for every kind
plus one directory per kind.  In file contents, ``{{key}}`` is replaced; in
paths, ``__package__`` and ``__name__`` are.  Files end in ``.tmpl`` so
nothing tries to import or byte-compile them.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterator, Optional

import click

from rmg_core import ENTRY_POINT_GROUP, ConfigError, PluginHost

#: kind -> (module file the component lives in, class name suffix)
KINDS: dict[str, tuple[str, str]] = {"grader": ("grader", "Grader"), "sink": ("sink", "Sink")}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_USAGE = {
    "grader": "rmg eval traces.jsonl -g {name} -o scores.jsonl",
    "sink": "rmg eval traces.jsonl -g similarity --sink {name} -s sinks.0.path=scores.csv",
}


def plugin_names(name: str) -> dict[str, str]:
    """The names a plugin called ``name`` gets: component, package, distribution, class.

    ``"Word-Count"`` becomes the component ``word_count`` in package
    ``rmg_word_count``, distribution ``rmg-word-count``, class prefix ``WordCount``.
    """
    raw = name
    name = name.strip().lower().replace("-", "_")
    if name.startswith("rmg_"):
        name = name[4:]
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ConfigError(
            f"plugin name {raw!r} is not usable: use lowercase letters, digits and '_' or '-', "
            "starting with a letter (e.g. word_count)"
        )
    prefix = "".join(part.capitalize() for part in name.split("_") if part)
    return {"name": name, "package": f"rmg_{name}", "dist": f"rmg-{name.replace('_', '-')}", "class_prefix": prefix}


#: A distribution name pip accepts (PEP 508): letters and digits at both ends.
_DIST_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")


def refuse_shadowing(names: dict[str, str], host: Optional[PluginHost] = None) -> None:
    """Raise `ConfigError` if the plugin would shadow or replace something that exists.

    Refused: a package ``rmg_<name>`` that is importable already (rmg's own
    ``rmg_core``, a built-in plugin such as ``rmg_similarity``, an installed
    plugin: installing the new one would replace its files, and uninstalling
    it would delete them), an installed distribution or ``rmg`` entry point of
    that name, a component ``host`` knows by that name, and a distribution
    name pip would refuse.
    """
    name, package, dist = names["name"], names["package"], names["dist"]
    problems = []
    if not _DIST_NAME.match(dist) or "__" in name:
        problems.append(f"the distribution name {dist!r} is not one pip accepts (no '_' at the end, no '__')")
    spec = importlib.util.find_spec(package)
    if spec is not None:
        where = spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin
        problems.append(f"a package {package!r} is already installed ({where}); the new one would replace its files")
    try:
        metadata.distribution(dist)
        problems.append(f"a distribution {dist!r} is already installed")
    except metadata.PackageNotFoundError:
        pass
    if any(ep.name == name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)):
        problems.append(f"an installed plugin is already called {name!r}")
    if host is not None:
        from rmg_core import KINDS as PLUGIN_KINDS  # not at start-up: building KINDS imports the component bases

        problems += [f"{kind} {name!r} already exists (from plugin {host.plugin_of(kind, name).name!r})"
                     for kind in PLUGIN_KINDS if name in host.names(kind)]
    if problems:
        base = re.sub("_+", "_", name).strip("_")
        raise ConfigError(f"plugin name {name!r} is refused: {'; '.join(problems)}. Choose another name, "
                          f"e.g. {base}_plus or my_{base}")


def _walk(root: Traversable, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Traversable]]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(entry, (*prefix, entry.name))
        elif entry.name.endswith(".tmpl"):
            yield (*prefix, entry.name[: -len(".tmpl")]), entry


def _render(text: str, values: dict[str, str], where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise RuntimeError(f"template {where} uses unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def create_plugin(name: str, directory: Path, kind: str = "grader", host: Optional[PluginHost] = None) -> Path:
    """Write a new plugin package ``rmg-<name>/`` inside ``directory``; return its path.

    Raises `ConfigError` for an unusable name or kind, a name that would
    shadow something installed (`refuse_shadowing`; ``host`` adds its
    components to what is checked), or when the target directory exists and
    is not empty (nothing is overwritten).
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown plugin kind {kind!r}; choose one of: {', '.join(KINDS)}")
    values = plugin_names(name)
    refuse_shadowing(values, host)
    module, suffix = KINDS[kind]
    values.update(
        kind=kind,
        class_name=values["class_prefix"] + suffix,
        description=f"An rmg plugin: the {values['name']} {kind}.",
    )
    values["usage"] = _USAGE[kind].format(name=values["name"])
    target = Path(directory) / values["dist"]
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target} already exists and is not empty; choose another name or directory")
    templates = resources.files("rmg_kit") / "templates" / "plugin"
    files: dict[Path, str] = {}
    for part in ("common", kind):
        for rel, source in _walk(templates / part):
            path = Path(*(values["package"] if p == "__package__" else p.replace("__name__", values["name"]) for p in rel))
            files[path] = _render(source.read_text(encoding="utf-8"), values, f"{part}/{'/'.join(rel)}")
    if not files:
        raise RuntimeError(f"no plugin templates found in {templates}; is rmg installed with its package data?")
    for path, text in files.items():
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return target


@click.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(sorted(KINDS)), default="grader", show_default=True,
              help="What the plugin provides.")
@click.option("-d", "--directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the rmg-NAME/ directory.")
@click.pass_context
def new_plugin_command(ctx: click.Context, name: str, kind: str, directory: Path) -> None:
    """Create a new plugin package NAME: a working grader (or sink), its tests and packaging.

    \b
    Example:
      rmg plugins new word_count && cd rmg-word-count && pip install -e '.[test]' && python -m pytest
    """
    try:
        host = ctx.find_root().obj
        target = create_plugin(name, directory, kind, host if isinstance(host, PluginHost) else None)
    except ConfigError as exc:
        click.echo(f"rmg: error: {exc}", err=True)
        raise click.exceptions.Exit(2) from None
    names = plugin_names(name)
    click.echo(f"created {target} (the {kind} {names['name']!r}, package {names['package']})")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo("  pip install -e '.[test]'")
    click.echo("  python -m pytest")
    click.echo(f"  {_USAGE[kind].format(name=names['name'])}")


__all__ = ["KINDS", "create_plugin", "new_plugin_command", "plugin_names", "refuse_shadowing"]
