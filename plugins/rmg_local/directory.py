"""The local sink's directory mode: one part file per work unit, and a manifest once the run completed.

A directory of scores looks like this::

    scores/
      part-u00000-3f2a9c1d0e.jsonl   # one work unit's records, JSONL lines as the file mode writes them
      part-u00001-7b0c55e2a4.jsonl
      _manifest.json                 # written last, only when the run completed

Read it back with ``cat scores/part-*.jsonl`` (the parts are disjoint: every
score is in exactly one).  A directory **without** ``_manifest.json`` is the
output of a run that did not complete (or is still running): its parts are
real scores, but some are missing.

Why it is safe on many workers at once (the Hadoop/Spark output-committer
pattern): a unit writes a hidden temporary file and renames it to
``part-<unit id>.jsonl`` only when the unit wrote everything.  A rename is
atomic on POSIX and the unit id is deterministic, so a unit run twice (a
killed worker's unit retried) replaces its own part and never adds a second
copy.  The driver then lists the parts of the units it took, checks each one
(lines, bytes, SHA-256), removes what no unit of this run wrote (temporary
files of killed attempts, parts of an earlier run into the same directory)
and writes the manifest atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

from rmg_core import OutputError, ScoreRecord, ScoreRecords, SinkError, __version__
from rmg_kit import AtomicFile, atomic_write

MANIFEST = "_manifest.json"
#: The manifest's ``format``: a reader checks it before trusting the rest.
FORMAT = "rmg-scores-directory/1"
#: The part a run writes when it is not cut into units (in one process, or sinks on the driver).
WHOLE_RUN = "all"
#: What this mode writes, and so what it may replace or remove: nothing else in the directory is touched.
_OURS = re.compile(r"(part-[\w.-]+\.jsonl(\.partial)?|\.part-[\w.-]+\.tmp|_manifest\.json(\.partial)?|\._manifest\.json\.\w+\.tmp)")


def part_name(unit_id: str) -> str:
    """``part-<unit id>.jsonl``; unit ids are ``[A-Za-z0-9_-]`` (a `SinkError` otherwise: never a path)."""
    if not re.fullmatch(r"[\w-]+", unit_id):
        raise SinkError(f"sink 'local': unit id {unit_id!r} cannot name a part file")
    return f"part-{unit_id}.jsonl"


def begin(directory: str) -> None:
    """Start a run writing into ``directory``: create it, refuse one holding other files, drop the old manifest.

    Removing an earlier run's manifest first means that, if this run does
    not complete, the directory reads as incomplete rather than as the
    earlier (complete) run with some of this run's parts mixed in.
    """
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise SinkError(f"sink 'local': {directory!r} is a file, and mode = \"directory\" writes a directory of parts; "
                        f"give a directory path (e.g. -o scores/)")
    try:
        os.makedirs(directory, exist_ok=True)
        foreign = sorted(name for name in os.listdir(directory) if not _OURS.fullmatch(name))
    except OSError as exc:
        raise SinkError(f"sink 'local': cannot write the directory {directory!r}: {exc.strerror}; "
                        f"choose a writable location") from None
    if foreign:
        shown = ", ".join(repr(name) for name in foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise SinkError(f"sink 'local': the directory {directory!r} holds files rmg did not write ({shown}); "
                        f"parts of earlier runs there are replaced, so give a new or empty directory")
    try:
        os.unlink(os.path.join(directory, MANIFEST))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SinkError(f"sink 'local': cannot remove the old {MANIFEST} in {directory!r}: {exc.strerror}") from None


class PartWriter:
    """One unit's part: written to a hidden temporary file, renamed to ``part-<unit id>.jsonl`` by `commit`.

    There is no abandoning a part: what a unit wrote is kept even when the run
    did not complete (a run without a manifest reads as incomplete, and a
    retry of the unit replaces its part); a killed attempt leaves only its
    hidden temporary file, which the driver's `commit` removes.
    """

    def __init__(self, directory: str, unit_id: str) -> None:
        self.path = os.path.join(directory, part_name(unit_id))
        try:
            self._file: Optional[AtomicFile] = AtomicFile(self.path)
        except OutputError as exc:  # it names the part and the fix
            raise SinkError(f"sink 'local': {exc}") from None
        self.handle = self._file.handle

    def commit(self) -> None:
        """Put the part in place (flushed to disk first): a retried unit replaces its own part."""
        if self._file is not None:
            atomic, self._file = self._file, None
            try:
                atomic.commit()
            except OutputError as exc:
                raise SinkError(f"sink 'local': {exc}") from None


def score_identities(records: Iterable[ScoreRecord], into: dict[str, dict[str, str]]) -> None:
    """Add the identity (component, grader, version, config fingerprint) of each score name in ``records``."""
    if isinstance(records, ScoreRecords):  # from each run's column: no record built
        for column in (run.column for run in records.runs if run.score_ids):
            into.setdefault(column.name, {"component": column.component, "grader": column.plugin,
                                          "grader_version": column.version, "config_fingerprint": column.fingerprint})
        return
    for record in records:
        if record.name not in into:
            into[record.name] = {"component": record.component, "grader": record.grader,
                                 "grader_version": record.grader_version, "config_fingerprint": record.config_fingerprint}


def fingerprint(scores: Mapping[str, Mapping[str, str]]) -> str:
    """A digest of every score's identity: equal for two directories graded by the same configuration."""
    payload = json.dumps({name: dict(scores[name]) for name in sorted(scores)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _check(path: str) -> dict[str, Any]:
    digest, lines, size = hashlib.sha256(), 0, 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
            size += len(block)
    return {"lines": lines, "bytes": size, "sha256": digest.hexdigest()}


def commit(directory: str, units: list[Mapping[str, Any]], scores: Mapping[str, Mapping[str, str]]) -> tuple[list[str], list[str]]:
    """The run completed: check every unit's part, remove what this run did not write, write the manifest.

    ``units`` are ``{"unit_id", "cases", "written"}`` of every unit the run
    took.  Returns ``(problems, notes)``: the manifest is written only when
    there is no problem (a part missing).
    """
    problems: list[str] = []
    notes: list[str] = []
    entries = []
    for unit in sorted(units, key=lambda u: u["unit_id"]):
        name = part_name(unit["unit_id"])
        try:
            facts = _check(os.path.join(directory, name))
        except OSError as exc:
            problems.append(f"the part {name} of unit {unit['unit_id']} is missing from {directory!r} ({exc.strerror})")
            continue
        if unit.get("written") is not None and facts["lines"] != unit["written"]:
            # Two runs of the unit wrote different records (a grader failing only once, with write_errors off):
            # the file on disk is what the manifest describes.
            notes.append(f"{directory}: the part {name} holds {facts['lines']} scores; the run of its unit that was "
                         f"counted wrote {unit['written']} (the unit ran twice and its results differed)")
        entries.append({"unit_id": unit["unit_id"], "part": name, "cases": unit.get("cases"), **facts})
    if problems:
        return problems, notes
    keep = {entry["part"] for entry in entries}
    for name in os.listdir(directory):
        if name not in keep and name != MANIFEST and _OURS.fullmatch(name):
            try:  # killed attempts' temporary files, an earlier run's parts: not this run's scores
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
    manifest = {
        "format": FORMAT,
        "complete": True,
        "rmg": __version__,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fingerprint": fingerprint(scores),
        "scores": {name: dict(scores[name]) for name in sorted(scores)},
        "units": len(entries),
        "cases": None if any(e["cases"] is None for e in entries) else sum(e["cases"] for e in entries),
        "lines": sum(e["lines"] for e in entries),
        "read_back": "cat part-*.jsonl  (each score is in exactly one part)",
        "parts": entries,
    }
    try:
        with atomic_write(os.path.join(directory, MANIFEST)) as handle:
            json.dump(manifest, handle, indent=1)
            handle.write("\n")
    except Exception as exc:
        return [f"cannot write the manifest in {directory!r}: {exc}"], notes
    return [], notes
