"""The `--report` HTML file: structure, escaping, self-containment, and rendering in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core.cli import build_cli

EVIL = '<script>alert("x")</script> & <b>bold</b>'


class Outline(HTMLParser):
    """Counts tags and classes, and collects every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for key, value in attrs:
            if key == "class" and value:
                for cls in value.split():
                    self.classes[cls] = self.classes.get(cls, 0) + 1
            if key in ("src", "href", "xlink:href") and value:
                self.urls.append(value)
            if key == "id" and value:
                self.ids.append(value)


def make_report(tmp_path: Path, host: Any) -> tuple[Path, str]:
    traces = tmp_path / "t.jsonl"
    rows = []
    for i in range(40):
        row: dict[str, Any] = {"id": f"t{i}", "input": [{"role": "user", "content": f"question {i}"}], "output": "a" * (i % 9)}
        if i % 4:
            row["expected"] = "a" * (i % 5)
        rows.append(row)
    rows[0]["output"] = EVIL
    rows[0]["expected"] = "something else"
    traces.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken line\n")
    report = tmp_path / "report.html"
    out = CliRunner().invoke(build_cli(host), ["eval", str(traces), "-g", "exact", "-g", "length", "-a", "mean", "-q", "--report", str(report), "--fail-under", "mean=0.2"], obj=host,
    )
    assert out.exit_code in (0, 3), out.output
    return report, report.read_text(encoding="utf-8")


def test_report_structure(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    outline = Outline()
    outline.feed(text)
    assert text.startswith("<!DOCTYPE html>")
    assert outline.classes["summary"] == 1  # the statistics table
    assert outline.tags["svg"] == 3 and outline.classes["histogram"] == 3  # one chart per score
    assert outline.classes["bar"] == 60  # 20 bins each
    assert outline.classes["worst"] == 3 and outline.classes["threshold"] == 1  # the gate's line on `mean`
    assert {"score-exact", "score-length", "score-mean"} <= set(outline.ids)
    # Worst cases: at most 10 rows per score, lowest first.
    worst_exact = re.search(r'id="score-exact".*?<table class="cases worst">(.*?)</table>', text, re.S)
    assert worst_exact is not None and worst_exact.group(1).count("<tr>") == 1 + 10
    # Grader errors grouped by message with their count (9 traces have no expected output).
    assert re.search(r'<td class="n"><b>9</b></td><td><div class="text">grader &#x27;exact&#x27; needs field &#x27;reference&#x27;', text)
    assert "unreadable" in text.lower() and ":41: invalid JSON" in text


def test_report_escapes_trace_text_and_is_self_contained(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    assert "<script" not in text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    outline = Outline()
    outline.feed(text)
    assert all(u.startswith("#") for u in outline.urls), outline.urls  # only in-page links
    assert "<link" not in text and "@import" not in text and "url(" not in text
    external = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert external <= {"http://www.w3.org/2000/svg"}  # the SVG namespace is a name, never fetched


_MEASURE = """
<script>
window.addEventListener("load", () => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
  const table = document.querySelector("table.summary");
  const charts = [...document.querySelectorAll("svg.histogram")];
  const out = {
    table: table ? box(table) : null,
    rows: table ? table.querySelectorAll("tbody tr").length : 0,
    charts: charts.map(box),
    bars: charts.map(svg => [...svg.querySelectorAll("rect.bar")].filter(r => r.getBBox().height > 0).length),
    fetched: performance.getEntriesByType("resource").map(e => e.name),
  };
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(tmp_path: Path, test_host: Any) -> None:
    _, text = make_report(tmp_path, test_host)
    # A copy with a measuring script: the report itself has no JavaScript.
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    out = subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--window-size=1280,2000", "--virtual-time-budget=3000", "--dump-dom", probe.as_uri(),
        ],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', out.stdout, re.S)
    assert found, "the measuring script did not run: " + out.stdout[:500]
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    width, height = measured["table"]
    assert width > 600 and height > 40 and measured["rows"] == 3
    assert len(measured["charts"]) == 3 and all(w > 300 and h > 100 for w, h in measured["charts"])
    assert all(n > 0 for n in measured["bars"])  # bars drawn with a real height
    assert measured["fetched"] == []  # nothing loaded from anywhere: the file is self-contained


def test_report_of_an_errors_only_run(tmp_path: Path, test_host: Any) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "a"}) + "\n" for i in range(5)))
    report = tmp_path / "r.html"
    out = CliRunner().invoke(build_cli(test_host), ["eval", str(traces), "-g", "exact", "-q", "--report", str(report), "--fail-under", "exact=0.5"], obj=test_host)
    assert out.exit_code == 5  # every result of 'exact' is an error: that outranks the gate (3)
    text = report.read_text(encoding="utf-8")
    assert "No successful values." in text and "gate failed" in text and text.count('class="bar"') == 20
    assert re.search(r'<td class="n"><b>5</b></td><td><div class="text">grader &#x27;exact&#x27; needs field', text)
