"""rmg_core's safety helpers: printable text, atomic output files, credential-free URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmg_core import ConfigError, OutputError, printable
from rmg_kit import AtomicFile, atomic_write, check_url_has_no_credentials, partial_path, redact_url


# -- printable ------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "shown"), [
    ("plain id-42 é 漢字", "plain id-42 é 漢字"),
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),       # retitles the terminal
    ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),               # clears the screen
    ("ok\n  sink local: 300 written", "ok\\n  sink local: 300 written"),  # forges a summary line
    ("a\rb\tc\x00d\x7f\x9b", "a\\rb\\tc\\x00d\\x7f\\x9b"),
    ("abc\u202edcb", "abc\\u202edcb"),                  # right-to-left override
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
])
def test_printable_escapes_control_characters_only(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    printable(raw).encode("utf-8")  # always encodable: a lone surrogate cannot crash a write


def test_printable_takes_any_value() -> None:
    assert printable(42) == "42" and printable(ValueError("x\ny")) == "x\\ny"


# -- atomic_write -----------------------------------------------------------------
def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous")
    with atomic_write(target) as handle:
        handle.write("new")
        assert target.read_text() == "previous"  # not visible until complete
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_failure_keeps_the_target_and_sets_what_was_written_aside(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("previous")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "previous"
    assert Path(partial_path(target)).read_text() == "half"


def test_a_symlinked_target_is_replaced_through_the_link(tmp_path: Path) -> None:
    real, link = tmp_path / "data" / "scores.jsonl", tmp_path / "scores.jsonl"
    real.parent.mkdir()
    real.write_text("old")
    link.symlink_to(real)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_abandon_and_commit(tmp_path: Path) -> None:
    out = AtomicFile(tmp_path / "s.jsonl")
    out.handle.write("line\n")
    assert out.abandon() == str(tmp_path / "s.jsonl.partial")
    assert not (tmp_path / "s.jsonl").exists()
    empty = AtomicFile(tmp_path / "e.jsonl")
    assert empty.abandon() is None and list(tmp_path.iterdir()) == [tmp_path / "s.jsonl.partial"]


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "r.json") as handle:
            handle.write("{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_is_an_error_naming_the_path() -> None:
    with pytest.raises(OutputError, match=r"cannot write '/dev/full': No space left on device; free some space"):
        with atomic_write("/dev/full") as handle:
            handle.write("x" * 100_000)


def test_a_missing_directory_is_an_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write .*nowhere/r.html.*check that its directory exists"):
        AtomicFile(tmp_path / "nowhere" / "r.html")


@pytest.mark.integration
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_mid_file_keeps_the_old_file(tmp_path: Path) -> None:
    """A file-size limit makes the kernel refuse writes past 64 KiB (EFBIG), as a full disk would."""
    target = tmp_path / "scores.jsonl"
    target.write_text("previous\n")
    script = (
        "import resource, signal, sys\n"
        "from rmg_core import OutputError; from rmg_kit import atomic_write\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "try:\n"
        "    with atomic_write(sys.argv[1]) as h:\n"
        "        for _ in range(1000): h.write('x' * 1000)\n"
        "except OutputError as e:\n"
        "    print(e); sys.exit(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert f"cannot write {str(target)!r}: File too large" in done.stdout
    assert "scores.jsonl.partial" in done.stdout
    assert target.read_text() == "previous\n"


# -- URLs ---------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "https://alice:hunter2@api.example.com/v1", "https://sk-abc@api.example.com/v1",
    "https://api.example.com/v1?api-key=sk-abc", "https://x.openai.azure.com/?api_key=1",
    "https://h/v1?deployment=d&access_token=t", "https://h/fn?code=abc",
])
def test_urls_with_credentials_are_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_url_has_no_credentials(url, "graders.relevance.base_url", "setting 'api_key' or OPENAI_API_KEY")
    message = str(caught.value)
    assert message.startswith("graders.relevance.base_url: the URL ")
    assert "give the key through setting 'api_key' or OPENAI_API_KEY" in message
    for secret in ("hunter2", "alice", "sk-abc", "=1", "=t", "=abc"):
        assert secret not in message


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://127.0.0.1:8080/v1?deployment=gpt"])
def test_plain_urls_pass(url: str) -> None:
    assert check_url_has_no_credentials(url, "base_url", "api_key") == url


def test_redact_url() -> None:
    assert redact_url("https://u:p@h:1/v1?key=s&x=y") == "https://***@h:1/v1?key=***&x=***"


@pytest.mark.parametrize("url", ["https://pk-lf-1:sk-lf-2@cloud.langfuse.com", "https://cloud.langfuse.com/?token=sk-lf-2"])
def test_the_langfuse_host_refuses_credentials_and_says_where_keys_go(url: str) -> None:
    from rmg_langfuse.source import LangfuseSource

    with pytest.raises(ConfigError) as caught:
        LangfuseSource(base_url=url, public_key="pk", secret_key="sk")
    message = str(caught.value)
    assert "carries a credential" in message and "LANGFUSE_SECRET_KEY" in message and "sk-lf-2" not in message


# -- the on-disk cache of paid answers ---------------------------------------------------------
def test_sqlite_cache_keys_and_values(tmp_path: Path) -> None:
    from rmg_kit import SqliteCache, cache_key

    assert cache_key({"a": 1, "b": "é"}) == cache_key({"b": "é", "a": 1})
    assert cache_key(["x\ud800"]) != cache_key(["x"])  # a lone surrogate from hostile text is hashed, not refused
    cache = SqliteCache(tmp_path / "sub" / "c.sqlite3")
    cache.put_many([(f"k{i}", bytes([i % 256])) for i in range(1200)])  # more than one IN (...) chunk
    cache.put("k1", b"new")
    found = cache.get_many([f"k{i}" for i in range(1300)])
    assert len(found) == 1200 and found["k1"] == b"new" and found["k7"] == b"\x07"
    assert cache.get("missing") is None and len(cache) == 1200
    cache.close()
    assert SqliteCache(tmp_path / "sub" / "c.sqlite3").get("k2") == b"\x02"  # it is on disk
