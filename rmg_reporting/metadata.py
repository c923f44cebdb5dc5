"""What a run was: its run fingerprint, its components' public settings and the plugins (with versions) it used.

The fingerprint is a hash of the assembled configuration as it affects
scores: each grader's and aggregator's own fingerprint (plugin name, version
and settings, secrets excluded — see `Component.fingerprint`) and field
mapping, and the source and sink plugin names.  Two summaries with the same
fingerprint were graded the same way; where traces were read from or
scores written to does not change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from rmg_core import (
    Aggregator,
    Component,
    Grader,
    PluginHost,
    Sink,
    Source,
    fingerprint,
)


@dataclass
class ComponentInfo:
    """One component of a run: its role, the registered class, and the plugin that provides it."""

    kind: str
    name: str
    component: str
    component_version: str
    fingerprint: str
    plugin: str = ""
    distribution: str = ""
    version: str = ""
    #: The component's settings, secrets left out (what `rmg compare` diffs), and a grader's field mapping.
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunInfo:
    """The run fingerprint and component list of one run."""

    run_fingerprint: str
    components: list[ComponentInfo] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_fingerprint": self.run_fingerprint,
            "components": [c.as_dict() for c in self.components],
        }


def _info(host: Optional[PluginHost], kind: str, name: str, obj: Component, fields: Optional[Mapping[str, str]] = None) -> ComponentInfo:
    registered = type(obj).name or type(obj).__name__
    settings = public_settings(obj)
    if fields:
        settings["fields"] = dict(fields)
    info = ComponentInfo(
        kind=kind,
        name=name,
        component=registered,
        component_version=str(obj.version),
        fingerprint=obj.fingerprint(),
        settings=settings,
    )
    if host is not None:
        try:
            plugin = host.plugin_of(kind, registered)
        except KeyError:  # built directly, not through the host
            return info
        info.plugin, info.distribution, info.version = plugin.name, plugin.distribution, plugin.version
    return info


def public_settings(obj: Component) -> dict[str, Any]:
    """A component's settings as JSON values, secrets left out (as its fingerprint leaves them out)."""
    import json

    if getattr(obj, "settings", None) is None:  # a component that skipped Component.__init__
        return {}
    # Through JSON, so tuples, paths and datetimes are what the summary file will hold.
    return json.loads(json.dumps(obj.public_settings(), default=str))


def run_fingerprint(
    source: Source,
    graders: Mapping[str, Grader],
    aggregators: Mapping[str, Aggregator],
    sinks: Sequence[Sink],
    fields: Optional[Mapping[str, Optional[Mapping[str, str]]]] = None,
) -> str:
    """A 16-hex-digit hash of everything in the configuration that decides the scores."""
    fields = fields or {}
    payload = {
        "graders": {
            name: {"fingerprint": g.fingerprint(), "fields": dict(fields.get(name) or {})}
            for name, g in sorted(graders.items())
        },
        "aggregators": {name: a.fingerprint() for name, a in sorted(aggregators.items())},
        "source": type(source).name,
        "sinks": sorted(type(s).name for s in sinks),
    }
    return fingerprint(payload)


def run_info(
    host: Optional[PluginHost],
    source: Source,
    graders: Mapping[str, Grader],
    aggregators: Mapping[str, Aggregator],
    sinks: Sequence[Sink],
    fields: Optional[Mapping[str, Optional[Mapping[str, str]]]] = None,
) -> RunInfo:
    """The fingerprint and the components of a run, each with its plugin's distribution and version."""
    components = [_info(host, "source", type(source).name, source)]
    components += [_info(host, "grader", name, g, (fields or {}).get(name)) for name, g in graders.items()]
    components += [_info(host, "aggregator", name, a) for name, a in aggregators.items()]
    components += [_info(host, "sink", type(s).name, s) for s in sinks]
    return RunInfo(run_fingerprint(source, graders, aggregators, sinks, fields), components)
