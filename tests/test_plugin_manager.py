"""Plugin loading: entry points one at a time, broken plugins skipped by name, filters, conflicts."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from rmg_core import Grader, GraderScore, PluginError, hookimpl, load_plugins
from rmg_core.errors import ConfigError
from tests.conftest import ExactMatch, TestPlugin


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


@pytest.fixture
def fake_modules(monkeypatch: pytest.MonkeyPatch):
    """Install modules in sys.modules and build EntryPoints that load them."""

    def install(**modules: types.ModuleType) -> list[metadata.EntryPoint]:
        eps = []
        for ep_name, module in modules.items():
            monkeypatch.setitem(sys.modules, module.__name__, module)
            eps.append(metadata.EntryPoint(name=ep_name, value=module.__name__, group="rmg"))
        return eps

    return install


@hookimpl
def _register_exact(register):  # type: ignore[no-untyped-def]
    register(ExactMatch)


def good() -> types.ModuleType:
    return _module("rmg_test_good", register_graders=_register_exact)


def test_loads_entry_points_and_registers_components(fake_modules) -> None:
    host = load_plugins(environ={}, entry_points=fake_modules(good=good()))
    assert host.names("grader") == ["exact"]
    assert host.get("grader", "exact") is ExactMatch
    assert [p.name for p in host.plugins] == ["good"] and host.plugins[0].registered == {"grader": ["exact"]}


def test_import_error_is_skipped_with_a_warning_naming_the_plugin(fake_modules) -> None:
    eps = fake_modules(good=good()) + [metadata.EntryPoint(name="ghost", value="rmg_no_such_module_xyz", group="rmg")]
    host = load_plugins(environ={}, entry_points=eps)
    assert host.names("grader") == ["exact"]
    assert len(host.warnings) == 1 and "plugin 'ghost'" in host.warnings[0] and "import failed" in host.warnings[0]
    assert "RMG_DISABLE_PLUGINS=ghost" in host.warnings[0]
    with pytest.raises(PluginError, match="ghost"):
        load_plugins(environ={"RMG_STRICT_PLUGINS": "1"}, entry_points=eps)


def test_misspelt_hook_and_wrong_signature_are_reported_by_name(fake_modules) -> None:
    @hookimpl
    def register_grader(register):  # type: ignore[no-untyped-def]  # typo: no such hook
        register(ExactMatch)

    @hookimpl
    def register_graders(registry):  # type: ignore[no-untyped-def]  # wrong argument name
        registry(ExactMatch)

    eps = fake_modules(
        typo=_module("rmg_test_typo", register_grader=register_grader),
        badsig=_module("rmg_test_badsig", register_graders=register_graders),
        good=good(),
    )
    host = load_plugins(environ={}, entry_points=eps)
    assert host.names("grader") == ["exact"]
    text = "\n".join(host.warnings)
    assert "plugin 'typo'" in text and "register_grader" in text
    assert "plugin 'badsig'" in text and "registry" in text
    assert {p.name for p in host.skipped} == {"typo", "badsig"}


def test_registration_of_a_non_component_skips_the_plugin(fake_modules) -> None:
    @hookimpl
    def register_graders(register):  # type: ignore[no-untyped-def]
        register(dict)

    host = load_plugins(environ={}, entry_points=fake_modules(bad=_module("rmg_test_bad", register_graders=register_graders)))
    assert host.names("grader") == [] and "not a Grader subclass" in host.warnings[0]


def test_load_and_disable_filters(fake_modules) -> None:
    class Other(ExactMatch):
        name = "other"

    @hookimpl
    def reg_other(register):  # type: ignore[no-untyped-def]
        register(Other)

    eps = fake_modules(good=good(), other=_module("rmg_test_other", register_graders=reg_other))
    assert load_plugins(environ={"RMG_LOAD_PLUGINS": "other"}, entry_points=eps).names("grader") == ["other"]
    assert load_plugins(environ={"RMG_DISABLE_PLUGINS": "other, good"}, entry_points=eps).names("grader") == []


def test_duplicate_component_name_is_an_error_naming_both_plugins(fake_modules) -> None:
    eps = fake_modules(first=good(), second=_module("rmg_test_second", register_graders=_register_exact))
    host = load_plugins(environ={}, entry_points=eps)
    with pytest.raises(PluginError, match="'first'.*'second'"):
        host.get("grader", "exact")
    with pytest.raises(PluginError, match="both"):
        load_plugins(environ={"RMG_STRICT_PLUGINS": "1"}, entry_points=eps)


def test_unknown_name_lists_installed_ones(test_host) -> None:
    with pytest.raises(ConfigError, match="unknown grader 'nope'; installed graders: .*exact"):
        test_host.get("grader", "nope")


def test_each_host_is_fresh() -> None:
    a = load_plugins(environ={}, entry_points=[], plugins=[("test", TestPlugin())])
    b = load_plugins(environ={}, entry_points=[])
    assert a.names("grader") == ["exact", "length"] and b.names("grader") == []


def test_builtin_plugins_found_through_entry_points() -> None:
    host = load_plugins(environ={"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"})
    found = {p.name: p for p in host.plugins}
    for name in ("local", "similarity", "relevance", "weighted_sum", "langfuse"):
        assert found[name].distribution == "rmg", name
    assert "local" in host.names("source") and "local" in host.names("sink")


# -- lazy references: register(name, "module:Class") or register(name, loader) ------------------------
_LAZY_GRADER = '''
from rmg_core import Grader, GraderScore, RunObserver

class Exact(Grader):
    name = "exact"
    required_fields = ("prediction",)

    async def aevaluate(self, prediction):
        return GraderScore(score=1.0)

class Misnamed(Exact):
    name = "other"

class Watcher(RunObserver):
    name = "watcher"
'''


@pytest.fixture
def lazy_module(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real module file on sys.path that nothing has imported yet."""
    (tmp_path / "rmg_test_lazy_target.py").write_text(_LAZY_GRADER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "rmg_test_lazy_target", raising=False)
    return "rmg_test_lazy_target"


def test_a_lazy_reference_is_imported_on_first_use_only(fake_modules, lazy_module) -> None:
    @hookimpl
    def register_graders(register):  # type: ignore[no-untyped-def]
        register("exact", f"{lazy_module}:Exact")
        register("by_loader", lambda: sys.modules[lazy_module].Exact)  # a loader is called on first use too

    host = load_plugins(environ={}, entry_points=fake_modules(lazy=_module("rmg_test_lazy", register_graders=register_graders)))
    assert host.names("grader") == ["by_loader", "exact"] and host.plugins[0].registered == {"grader": ["exact", "by_loader"]}
    assert lazy_module not in sys.modules  # `rmg plugins` and `rmg --help` stop here
    cls = host.get("grader", "exact")
    assert cls.__name__ == "Exact" and host.get("grader", "exact") is cls and lazy_module in sys.modules
    # The loader returns a class named "exact", registered as "by_loader": a mismatch named at first use.
    with pytest.raises(PluginError, match=r"plugin 'lazy'.*'by_loader'.*its `name` is 'exact'"):
        host.get("grader", "by_loader")


def test_a_lazy_reference_that_fails_names_the_plugin_and_the_fix(fake_modules, lazy_module) -> None:
    @hookimpl
    def register_graders(register):  # type: ignore[no-untyped-def]
        register("missing", "rmg_test_no_such_module:Grader")
        register("other", f"{lazy_module}:Misnamed")
        register("watcher", f"{lazy_module}:Watcher")  # an observer, registered as a grader

    @hookimpl
    def register_run_observers(register):  # type: ignore[no-untyped-def]
        register("gone", f"{lazy_module}:NoSuchObserver")
        register("watcher", f"{lazy_module}:Watcher")

    plugin = _module("rmg_test_lazy_bad", register_graders=register_graders, register_run_observers=register_run_observers)
    host = load_plugins(environ={}, entry_points=fake_modules(lazy=plugin))
    with pytest.raises(PluginError, match=r"plugin 'lazy'.*'missing'.*ModuleNotFoundError.*RMG_DISABLE_PLUGINS=lazy"):
        host.get("grader", "missing")
    assert host.get("grader", "other").name == "other"  # its own `name` agrees: fine
    with pytest.raises(PluginError, match="not a Grader subclass"):
        host.get("grader", "watcher")
    # A run observer that cannot load is left out of `rmg eval` with a warning; the others stay.
    assert [o.name for o in host.observer_classes()] == ["watcher"]
    assert any("'gone'" in w and "AttributeError" in w for w in host.warnings)


def test_a_malformed_registration_skips_the_plugin(fake_modules) -> None:
    @hookimpl
    def register_graders(register):  # type: ignore[no-untyped-def]
        register("exact", "no_colon_here")

    host = load_plugins(environ={}, entry_points=fake_modules(bad=_module("rmg_test_malformed", register_graders=register_graders)))
    assert host.names("grader") == [] and "register(name, 'module:Class')" in host.warnings[0]


def test_kinds_still_maps_each_kind_to_its_hook_and_base_class() -> None:
    from rmg_core import KINDS, Grader, RunObserver

    assert KINDS["grader"] == ("register_graders", Grader) and KINDS["observer"] == ("register_run_observers", RunObserver)


def test_observer_options_join_rmg_eval_on_first_use_and_a_taken_option_is_left_out(fake_modules, lazy_module, tmp_path) -> None:
    from click.testing import CliRunner

    from rmg_core.cli import build_cli

    # `lazy_module` put tmp_path on sys.path: the observer's module goes beside it.
    (tmp_path / "rmg_test_lazy_observer.py").write_text(
        "import click\nfrom rmg_core import RunObserver\n\nclass Loud(RunObserver):\n    name = 'loud'\n"
        "    options = (click.Option(['--loud'], is_flag=True), click.Option(['-q', '--quiet-too'], is_flag=True))\n",
        encoding="utf-8")

    @hookimpl
    def register_run_observers(register):  # type: ignore[no-untyped-def]
        register("loud", "rmg_test_lazy_observer:Loud")

    host = load_plugins(environ={}, entry_points=fake_modules(loud=_module("rmg_test_loud", register_run_observers=register_run_observers)))
    cli = build_cli(host)
    assert "Usage: cli [OPTIONS] COMMAND" in CliRunner().invoke(cli, ["--help"], obj=host).output
    assert "rmg_test_lazy_observer" not in sys.modules  # `rmg --help` loaded no observer
    out = CliRunner().invoke(cli, ["eval", "--help"], obj=host).output
    assert "--loud" in out and "--quiet-too" not in out and "rmg_test_lazy_observer" in sys.modules
    assert host.warnings == ["run observer 'loud': option -q is taken; it is left out"]
    sys.modules.pop("rmg_test_lazy_observer")
