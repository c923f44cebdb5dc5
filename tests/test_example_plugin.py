"""The third-party example plugin (examples/rmg-example-plugin), pip-installed, used through the real CLI.

CI installs it with ``pip install ./examples/rmg-example-plugin``; these
tests run the ``rmg`` console script in a subprocess, so discovery goes
through the installed distribution's entry point like any user's plugin.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from tests.conftest import ROOT, run_rmg

PLUGIN_DIR = ROOT / "examples" / "rmg-example-plugin"
QUIET = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
TRACES = [
    {"id": "t1", "input": "where is my refund?", "output": "Your refund for order #1234 was sent.", "timestamp": "2025-01-02T03:04:05Z"},
    {"id": "t2", "input": "status?", "output": '{"status": "shipped"}'},
    {"id": "t3", "input": "hi", "output": [{"role": "assistant", "content": "Hello! How can I help?"}]},
]



def test_it_is_installed_as_a_distribution() -> None:
    eps = [ep for ep in metadata.entry_points(group="rmg") if ep.name == "example"]
    assert eps, "install the example plugin first: pip install ./examples/rmg-example-plugin"
    assert eps[0].dist is not None and eps[0].dist.metadata["Name"] == "rmg-example-plugin"


def _traces(tmp_path: Path) -> Path:
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in TRACES), encoding="utf-8")
    return path


def test_rmg_plugins_lists_it_with_distribution_and_version() -> None:
    out = run_rmg("plugins", env=QUIET)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if l.startswith("example "))
    assert line.split()[1:] == ["rmg-example-plugin", "0.1.0"]
    assert "regex_match, json_valid" in out.stdout and "sqlite" in out.stdout
    data = json.loads(run_rmg("plugins", "--json", env=QUIET).stdout)
    info = next(p for p in data["plugins"] if p["name"] == "example")
    assert (info["distribution"], info["version"], info["module"]) == ("rmg-example-plugin", "0.1.0", "rmg_example")
    assert info["registered"] == {"grader": ["regex_match", "json_valid"], "sink": ["sqlite"]}
    assert data["components"]["sink"]["sqlite"] == "example"


def test_eval_grades_with_its_graders_and_writes_through_its_sink(tmp_path: Path) -> None:
    db = tmp_path / "scores.db"
    args = [
        "eval", str(_traces(tmp_path)),
        "-g", "regex_match", "-s", r"graders.regex_match.pattern=order #?\d+",
        "-g", "json_valid", "-s", 'graders.json_valid.required_keys=["status"]',
        "--sink", "sqlite", "-s", f"sinks.0.path={db}",
    ]
    out = run_rmg(*args, env=QUIET)
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(db) as conn:
        rows = sorted(conn.execute("SELECT trace_id, name, value, kind, grader, timestamp FROM rmg_scores"))
    assert rows == [
        ("t1", "json_valid", 0.0, "score", "json_valid", "2025-01-02T03:04:05+00:00"),
        ("t1", "regex_match", 1.0, "score", "regex_match", "2025-01-02T03:04:05+00:00"),
        ("t2", "json_valid", 1.0, "score", "json_valid", None),
        ("t2", "regex_match", 0.0, "score", "regex_match", None),
        ("t3", "json_valid", 0.0, "score", "json_valid", None),
        ("t3", "regex_match", 0.0, "score", "regex_match", None),
    ]
    # A re-run upserts by score id: still one row per score.
    again = run_rmg(*args, env=QUIET)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT score_id) FROM rmg_scores").fetchone() == (6, 6)


def test_bad_settings_are_usage_errors_naming_the_setting(tmp_path: Path) -> None:
    out = run_rmg("eval", str(_traces(tmp_path)), "-g", "regex_match", "-s", "graders.regex_match.pattern=(oops", "-o", "-", env=QUIET)
    assert out.returncode == 2
    assert "[graders.regex_match]" in out.stderr and "'pattern'" in out.stderr and "regular expression" in out.stderr
    out = run_rmg("eval", str(_traces(tmp_path)), "-g", "json_valid", "--sink", "sqlite", "-s", f"sinks.0.path={tmp_path / 'no' / 'x.db'}", env=QUIET)
    assert out.returncode != 0 and "does not exist" in out.stderr


def test_disabling_it_hides_it(tmp_path: Path) -> None:
    env = {"RMG_DISABLE_PLUGINS": QUIET["RMG_DISABLE_PLUGINS"] + ",example"}
    listing = json.loads(run_rmg("plugins", "--json", env=env).stdout)
    assert "example" not in [p["name"] for p in listing["plugins"]]
    assert "regex_match" not in listing["components"]["grader"]
    out = run_rmg("eval", str(_traces(tmp_path)), "-g", "regex_match", "-o", "-", env=env)
    assert out.returncode == 2 and "unknown grader 'regex_match'" in out.stderr


def test_its_own_test_suite_passes() -> None:
    # The plugin's tests use the kit (rmg_kit) through pytest's entry point, as its author's CI would.
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=PLUGIN_DIR, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout
