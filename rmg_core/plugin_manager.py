"""Finding, loading and asking plugins: a fresh `PluginHost` per run or per test.

Plugins are modules named by entry points in the group ``rmg``.  Each is
loaded on its own: one that fails to import, or implements a hook that does
not exist or with the wrong arguments, is skipped with a warning that names
it and its distribution, so every command keeps working.  Environment:

* ``RMG_LOAD_PLUGINS=a,b`` loads only the plugins named (entry point names);
* ``RMG_DISABLE_PLUGINS=x,y`` blocks plugins by name, built-ins included;
* ``RMG_STRICT_PLUGINS=1`` makes any plugin problem an error (naming every broken plugin).

Plugins left out by the first two are kept in `PluginHost.hidden`, so
``rmg plugins`` and the "unknown grader" errors can say what hid them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable, Mapping, Optional

import pluggy

from . import hookspecs
from .components import Aggregator, Component, Executor, Grader, Sink, Source
from .errors import ConfigError, PluginError
from .observers import RunObserver

ENTRY_POINT_GROUP = "rmg"
log = logging.getLogger("rmg.plugins")

#: kind -> (registration hook, base class every registered class must extend)
KINDS: dict[str, tuple[str, type]] = {
    "grader": ("register_graders", Grader),
    "aggregator": ("register_aggregators", Aggregator),
    "source": ("register_sources", Source),
    "sink": ("register_sinks", Sink),
    "observer": ("register_run_observers", RunObserver),
    "executor": ("register_executors", Executor),
}


@dataclass
class PluginInfo:
    """One plugin as found: its entry point name, where it comes from, what it registered."""

    name: str
    distribution: str = ""
    version: str = ""
    module: str = ""
    registered: dict[str, list[str]] = field(default_factory=dict)
    problem: Optional[str] = None

    @property
    def label(self) -> str:
        dist = f" from {self.distribution} {self.version}".rstrip() if self.distribution else ""
        return f"plugin {self.name!r}{dist}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "registered": self.registered,
            "problem": self.problem,
        }


@dataclass
class _Entry:
    cls: type
    plugin: PluginInfo


def _names(value: Optional[str]) -> Optional[set[str]]:
    if value is None or not value.strip():
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """The loaded plugins and the components they registered, by kind and name."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.pm = pluggy.PluginManager("rmg")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.skipped: list[PluginInfo] = []
        #: Plugins left out by RMG_LOAD_PLUGINS / RMG_DISABLE_PLUGINS (``problem`` says which).
        self.hidden: list[PluginInfo] = []
        self.warnings: list[str] = []
        #: Problems found in strict mode, raised together once loading ends.
        self.strict_problems: list[str] = []
        self._components: dict[str, dict[str, _Entry]] = {kind: {} for kind in KINDS}
        self._conflicts: dict[str, dict[str, list[PluginInfo]]] = {kind: {} for kind in KINDS}

    # -- loading -----------------------------------------------------------
    def _problem(self, info: PluginInfo, message: str) -> None:
        # pluggy's messages span lines and embed module reprs; one line reads better in a log.
        message = " ".join(message.split())
        info.problem = message
        text = f"{info.label} skipped: {message} (set RMG_DISABLE_PLUGINS={info.name} to silence this)"
        self.skipped.append(info)
        if self.strict:
            self.strict_problems.append(text)
            return
        self.warn(text)

    def warn(self, text: str) -> None:
        """Record and log a warning about the plugins (shown by ``rmg plugins --json``)."""
        self.warnings.append(text)
        log.warning(text)

    def raise_strict_problems(self) -> None:
        """In strict mode, fail naming every broken plugin at once, not only the first."""
        if self.strict_problems:
            count = len(self.strict_problems)
            raise PluginError(f"RMG_STRICT_PLUGINS is set and {count} plugin problem(s) were found: " + "; ".join(self.strict_problems))

    def add(self, plugin: Any, info: PluginInfo) -> bool:
        """Register one plugin object (a module, usually); skip it on any problem."""
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy.PluginValidationError: wrong hook signature
            self._problem(info, f"invalid hook implementation: {exc}")
            return False
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            self._problem(info, f"implements a hook rmg does not have: {exc}")
            return False
        collected: dict[str, list[type[Component]]] = {}
        try:
            for kind, (hook_name, base) in KINDS.items():
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                    if impl.plugin is not plugin:
                        continue
                    found: list[type[Component]] = []
                    impl.function(**{a: found.append for a in impl.argnames})
                    for cls in found:
                        if not (isinstance(cls, type) and issubclass(cls, base)):
                            raise PluginError(f"{hook_name} registered {cls!r}, which is not a {base.__name__} subclass")
                        if not cls.name:
                            raise PluginError(f"{hook_name} registered {cls.__name__} without a `name`")
                    collected[kind] = found
        except Exception as exc:
            self.pm.unregister(plugin)
            self._problem(info, f"registration failed: {type(exc).__name__}: {exc}")
            return False
        for kind, classes in collected.items():
            for cls in classes:
                self._put(kind, cls, info)
        info.registered = {k: [c.name for c in v] for k, v in collected.items() if v}
        self.plugins.append(info)
        return True

    def _put(self, kind: str, cls: type[Component], info: PluginInfo) -> None:
        table = self._components[kind]
        other = table.get(cls.name)
        if other is None and cls.name not in self._conflicts[kind]:
            table[cls.name] = _Entry(cls, info)
            return
        owners = self._conflicts[kind].setdefault(cls.name, [other.plugin] if other else [])
        owners.append(info)
        table.pop(cls.name, None)
        message = self._conflict_message(kind, cls.name)
        if self.strict:
            self.strict_problems.append(message)
            return
        self.warn(message)

    def _conflict_message(self, kind: str, name: str) -> str:
        owners = " and ".join(p.label for p in self._conflicts[kind][name])
        return (
            f"{kind} name {name!r} is registered by both {owners}; "
            f"disable one with RMG_DISABLE_PLUGINS=<plugin name>"
        )

    # -- lookup ------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self._components[kind])

    def get(self, kind: str, name: str) -> type[Component]:
        """The class registered as ``name``; a clear error if it is unknown or contested."""
        if name in self._conflicts[kind]:
            raise PluginError(self._conflict_message(kind, name))
        entry = self._components[kind].get(name)
        if entry is None:
            known = ", ".join(self.names(kind)) or "(none installed)"
            hint = ""
            for info in self.skipped:
                hint += f"; note: {info.label} was skipped ({info.problem})"
            if self.hidden:
                hint += f"; note: {self.hidden_note()}"
            raise ConfigError(f"unknown {kind} {name!r}; installed {kind}s: {known}{hint}")
        return entry.cls

    def hidden_note(self) -> str:
        """Which plugins the environment left out, and by which variable."""
        by_reason: dict[str, list[str]] = {}
        for info in self.hidden:
            by_reason.setdefault(info.problem or "", []).append(info.name)
        return "; ".join(f"{reason} left out plugin(s) {', '.join(names)}" for reason, names in by_reason.items())

    def observer_classes(self) -> list[type[RunObserver]]:
        """The registered run observers, in name order."""
        return [self._components["observer"][name].cls for name in self.names("observer")]  # type: ignore[misc]

    def as_dict(self) -> dict[str, Any]:
        """What ``rmg plugins --json`` prints."""
        return {
            "plugins": [p.as_dict() for p in self.plugins],
            "skipped": [p.as_dict() for p in self.skipped],
            "disabled": [p.as_dict() for p in self.hidden],
            "components": {kind: {name: self.plugin_of(kind, name).name for name in self.names(kind)} for kind in KINDS},
            "warnings": self.warnings,
        }

    def plugin_of(self, kind: str, name: str) -> PluginInfo:
        return self._components[kind][name].plugin

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add its CLI commands; a failing plugin is skipped with a warning."""
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(**{a: cli for a in impl.argnames})
            except Exception as exc:
                info = next((p for p in self.plugins if p.name == impl.plugin_name), PluginInfo(impl.plugin_name))
                self._problem(info, f"register_commands failed: {type(exc).__name__}: {exc}")


def _entry_point_info(ep: metadata.EntryPoint) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    return PluginInfo(
        name=ep.name,
        distribution=dist.metadata["Name"] if dist is not None else "",
        version=dist.version if dist is not None else "",
        module=ep.value,
    )


def load_plugins(
    *,
    environ: Optional[Mapping[str, str]] = None,
    entry_points: Optional[Iterable[metadata.EntryPoint]] = None,
    plugins: Iterable[tuple[str, Any]] = (),
    strict: Optional[bool] = None,
) -> PluginHost:
    """Build a fresh `PluginHost`: entry points of group ``rmg``, then ``plugins`` given directly.

    ``environ`` defaults to ``os.environ``; ``entry_points`` to the installed
    ones (tests pass their own).  ``plugins`` are ``(name, object)`` pairs
    registered after the entry points, for library users and tests.
    """
    env = os.environ if environ is None else environ
    if strict is None:
        strict = env.get("RMG_STRICT_PLUGINS", "").strip().lower() in ("1", "true", "yes", "on")
    only, blocked = _names(env.get("RMG_LOAD_PLUGINS")), _names(env.get("RMG_DISABLE_PLUGINS")) or set()
    host = PluginHost(strict=strict)
    if entry_points is None:
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    seen: set[tuple[str, str]] = set()
    for ep in entry_points:
        if (ep.name, ep.value) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((ep.name, ep.value))
        info = _entry_point_info(ep)
        if ep.name in blocked or (only is not None and ep.name not in only):
            variable = "RMG_DISABLE_PLUGINS" if ep.name in blocked else "RMG_LOAD_PLUGINS"
            info.problem = f"{variable}={env.get(variable, '')}"
            host.hidden.append(info)
            continue
        try:
            module = ep.load()
        except Exception as exc:
            host._problem(info, f"import failed: {type(exc).__name__}: {exc}")
            continue
        host.add(module, info)
    for name, plugin in plugins:
        if name not in blocked:
            host.add(plugin, PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin))))
    host.raise_strict_problems()
    return host
