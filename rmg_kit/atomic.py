"""Writing an output file so a reader never finds it torn or half-replaced.

A report, a summary or a score file is written to a temporary file beside
its target and renamed over it only once complete (a rename within one
directory is atomic on POSIX and Windows).  If writing fails, or the run
stops early, the target is left as it was and what was written is kept as
``<name>.partial``, so nothing written is lost and nothing incomplete sits
where complete results are expected.

A target that exists and is not a regular file (``/dev/stdout``, a FIFO,
``/dev/full``) cannot be replaced by a rename: it is written directly.
"""

from __future__ import annotations

import errno
import os
import secrets
from contextlib import contextmanager
from typing import IO, Iterator, Optional

from rmg_core import OutputError

PARTIAL_SUFFIX = ".partial"


def partial_path(path: str | os.PathLike[str]) -> str:
    """Where `AtomicFile` keeps what was written when it is abandoned: ``<path>.partial``."""
    return os.fspath(path) + PARTIAL_SUFFIX


_HINTS = {errno.ENOSPC: "free some space or write it elsewhere", errno.EFBIG: "free some space or write it elsewhere",
          errno.EDQUOT: "free some space or write it elsewhere", errno.EACCES: "choose a writable location",
          errno.EROFS: "choose a writable location", errno.ENOENT: "check that its directory exists"}


def describe_os_error(path: str, exc: OSError) -> str:
    """``cannot write 'PATH': REASON; HINT``: the path, never ``None``, and what usually fixes it."""
    hint = _HINTS.get(exc.errno or 0)
    return f"cannot write {path!r}: {exc.strerror or type(exc).__name__}" + (f"; {hint}" if hint else "")


class AtomicFile:
    """One output file written through a temporary file beside it.

    ``handle`` is the open text (or binary) file to write to; `commit` puts
    it in place, `abandon` keeps it as ``<path>.partial`` and leaves the
    target untouched.  Opening and committing raise `OutputError` naming the
    target on any `OSError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, binary: bool = False, encoding: str = "utf-8",
                 newline: Optional[str] = None) -> None:
        self.path = os.fspath(path)
        self.partial: Optional[str] = None
        self.direct = os.path.exists(self.path) and not os.path.isfile(self.path)
        # A symlink is followed: the file it points to is replaced, the link stays.
        self._target = os.path.realpath(self.path)
        directory, name = os.path.split(self._target)
        self._temp = self.path if self.direct else os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        flags = os.O_WRONLY | (0 if self.direct else os.O_CREAT | os.O_EXCL)
        try:
            # Mode 0o666 less the umask: the permissions a plain open() would give the file.
            fd = os.open(self._temp, flags, 0o666)
            self.handle: IO = (os.fdopen(fd, "wb") if binary
                               else os.fdopen(fd, "w", encoding=encoding, newline=newline))
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc)) from None
        self._done = False

    def commit(self) -> None:
        """Flush, close and rename into place; on failure keep ``.partial`` and raise `OutputError`."""
        if self._done:
            return
        try:
            self.handle.flush()
            if not self.direct:
                os.fsync(self.handle.fileno())
            self.handle.close()
            if not self.direct:
                os.replace(self._temp, self._target)
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc) + _kept(self.abandon())) from None
        self._done = True

    def abandon(self) -> Optional[str]:
        """Close without replacing the target; return where what was written is kept (or None)."""
        if self._done:
            return self.partial
        self._done = True
        try:
            self.handle.close()
        except OSError:
            pass  # set aside as it is; its end may be missing
        try:
            if self.direct or os.path.getsize(self._temp) == 0:
                return None if self.direct else os.unlink(self._temp)
            self.partial = partial_path(self.path)
            os.replace(self._temp, self.partial)
        except OSError:
            self.partial = self._temp if os.path.exists(self._temp) else None
        return self.partial


def _kept(partial: Optional[str]) -> str:
    return f"; what was written is kept in {partial!r}" if partial else "; the previous file, if any, is unchanged"


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, binary: bool = False, encoding: str = "utf-8",
                 newline: Optional[str] = None) -> Iterator[IO]:
    """Open ``path`` for writing through `AtomicFile`: in place on success, ``.partial`` on failure.

    An `OSError` while writing becomes an `OutputError` naming the path and
    where the partial output is; any other exception propagates after the
    partial output is set aside::

        with atomic_write("report.html") as handle:
            handle.write(html)
    """
    target = AtomicFile(path, binary=binary, encoding=encoding, newline=newline)
    try:
        yield target.handle
    except OSError as exc:
        raise OutputError(describe_os_error(target.path, exc) + _kept(target.abandon())) from None
    except BaseException:
        target.abandon()
        raise
    target.commit()
