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

A registration hook's ``register`` takes a class, or a name and a lazy
reference (``register("keyword", "my_plugin.grader:KeywordGrader")`` or a
zero-argument function returning the class): the class is imported when a
run first asks for it, so ``rmg --help`` and ``rmg plugins`` import no
component (nor pydantic, which every component's settings need).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Union

import pluggy

from . import hookspecs
from .errors import ConfigError, PluginError

if TYPE_CHECKING:
    from .components import Component
    from .observers import RunObserver

ENTRY_POINT_GROUP = "rmg"
log = logging.getLogger("rmg.plugins")

#: kind -> (registration hook, the base class every registered class must extend: ``module:name`` in rmg_core).
_KINDS = {
    "grader": ("register_graders", "components:Grader"), "aggregator": ("register_aggregators", "components:Aggregator"),
    "source": ("register_sources", "components:Source"), "sink": ("register_sinks", "components:Sink"),
    "observer": ("register_run_observers", "observers:RunObserver"), "executor": ("register_executors", "components:Executor"),
}
#: What ``register`` takes after a name: the class, ``"module:attribute"``, or a function returning the class.
Reference = Union[type, str, Callable[[], type]]


def _import(reference: str) -> Any:
    """What ``"module:attribute"`` names, read as an entry point's value is."""
    return metadata.EntryPoint(name="", value=reference, group="").load()


def _base(kind: str) -> type:
    # Imported when a class is checked, not at start-up: `components` needs pydantic.
    return _import(f"{__package__}.{_KINDS[kind][1]}")  # type: ignore[no-any-return]


def __getattr__(name: str) -> Any:
    if name == "KINDS":  # kind -> (registration hook, base class); built on first use, as the bases import pydantic
        return {kind: (hook, _base(kind)) for kind, (hook, _) in _KINDS.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        return asdict(self)  # every field, in order: what `rmg plugins --json` shows of a plugin


@dataclass
class _Entry:
    target: Reference
    plugin: PluginInfo


def _checked(kind: str, name: Optional[str], cls: Any, where: str) -> type[Component]:
    """``cls`` if it is a class of ``kind`` named ``name`` (any name when None); a `PluginError` saying which not."""
    base = _base(kind)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{where} registered {cls!r}, which is not a {base.__name__} subclass")
    if not cls.name or (name is not None and cls.name != name):
        raise PluginError(f"{where} registered {cls.__name__} as {name!r} but its `name` is {cls.name!r}"
                          if cls.name else f"{where} registered {cls.__name__} without a `name`")
    return cls


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
        self._components: dict[str, dict[str, _Entry]] = {kind: {} for kind in _KINDS}
        self._conflicts: dict[str, dict[str, list[PluginInfo]]] = {kind: {} for kind in _KINDS}

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
        collected: dict[str, list[tuple[str, Reference]]] = {}
        try:
            for kind, (hook_name, _) in _KINDS.items():
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                    if impl.plugin is not plugin:
                        continue
                    found: list[tuple[str, Reference]] = []

                    def register(component: Any, target: Any = None, kind: str = kind, hook: str = hook_name) -> None:
                        if target is None:  # register(TheClass): checked now (its module is imported anyway)
                            component, target = _checked(kind, None, component, hook).name, component
                        elif not (isinstance(component, str) and component and (callable(target) or isinstance(target, str) and ":" in target)):
                            raise PluginError(f"{hook} got register({component!r}, {target!r}); use register(TheClass), "
                                              f"register(name, 'module:Class') or register(name, function_returning_the_class)")
                        found.append((component, _checked(kind, component, target, hook) if isinstance(target, type) else target))

                    impl.function(**{a: register for a in impl.argnames})
                    collected[kind] = found
        except Exception as exc:
            self.pm.unregister(plugin)
            self._problem(info, f"registration failed: {type(exc).__name__}: {exc}")
            return False
        for kind, entries in collected.items():
            for name, target in entries:
                self._put(kind, name, target, info)
        info.registered = {k: [name for name, _ in v] for k, v in collected.items() if v}
        self.plugins.append(info)
        return True

    def _put(self, kind: str, name: str, target: Reference, info: PluginInfo) -> None:
        table = self._components[kind]
        other = table.get(name)
        if other is None and name not in self._conflicts[kind]:
            table[name] = _Entry(target, info)
            return
        owners = self._conflicts[kind].setdefault(name, [other.plugin] if other else [])
        owners.append(info)
        table.pop(name, None)
        message = self._conflict_message(kind, name)
        if self.strict:
            self.strict_problems.append(message)
            return
        self.warn(message)

    def _conflict_message(self, kind: str, name: str) -> str:
        owners = " and ".join(p.label for p in self._conflicts[kind][name])
        return f"{kind} name {name!r} is registered by both {owners}; disable one with RMG_DISABLE_PLUGINS=<plugin name>"

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
            hint = "".join(f"; note: {info.label} was skipped ({info.problem})" for info in self.skipped)
            hint += f"; note: {self.hidden_note()}" if self.hidden else ""
            raise ConfigError(f"unknown {kind} {name!r}; installed {kind}s: {known}{hint}")
        if not isinstance(entry.target, type):  # a lazy reference: imported now, once
            where = f"{entry.plugin.label} ({kind} {name!r} from {entry.target!r})"
            try:
                loaded = _import(entry.target) if isinstance(entry.target, str) else entry.target()
            except Exception as exc:
                raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}; reinstall the plugin, "
                                  f"or leave it out with RMG_DISABLE_PLUGINS={entry.plugin.name}") from exc
            entry.target = _checked(kind, name, loaded, where)
        return entry.target

    def hidden_note(self) -> str:
        """Which plugins the environment left out, and by which variable."""
        by_reason: dict[str, list[str]] = {}
        for info in self.hidden:
            by_reason.setdefault(info.problem or "", []).append(info.name)
        return "; ".join(f"{reason} left out plugin(s) {', '.join(names)}" for reason, names in by_reason.items())

    def observer_classes(self) -> list[type[RunObserver]]:
        """The registered run observers, in name order; one that fails to load is left out with a warning."""
        found = []
        for name in self.names("observer"):
            try:
                found.append(self.get("observer", name))
            except PluginError as exc:
                self.warn(str(exc))
        return found  # type: ignore[return-value]

    def as_dict(self) -> dict[str, Any]:
        """What ``rmg plugins --json`` prints."""
        return {
            "plugins": [p.as_dict() for p in self.plugins],
            "skipped": [p.as_dict() for p in self.skipped],
            "disabled": [p.as_dict() for p in self.hidden],
            "components": {kind: {name: self.plugin_of(kind, name).name for name in self.names(kind)} for kind in _KINDS},
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


def _entry_point_info(ep: metadata.EntryPoint, dists: dict[int, tuple[str, str]]) -> PluginInfo:
    dist = getattr(ep, "dist", None)
    if dist is not None and id(dist) not in dists:  # one METADATA read per distribution, not two per plugin
        dists[id(dist)] = ((meta := dist.metadata)["Name"], meta["Version"])
    distribution, version = dists.get(id(dist), ("", ""))
    return PluginInfo(name=ep.name, distribution=distribution, version=version, module=ep.value)


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
    seen: set[tuple[str, str]] = set()
    dists: dict[int, tuple[str, str]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points:
        if (ep.name, ep.value) in seen:  # the same distribution found twice on sys.path
            continue
        seen.add((ep.name, ep.value))
        info = _entry_point_info(ep, dists)
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
