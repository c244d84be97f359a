"""What a failure of the disk, the index or the Chroma server means, in words a user can act on.

Every storage fault becomes one `StoreError` whose message names the place, says what
happened and what to do; the CLI, the page, the MCP server and the Python API all show that
message instead of a traceback. Only this module and `rag/store_chroma.py` read Chroma's and
SQLite's error texts.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from rag.config import Settings

log = logging.getLogger(__name__)

DOCTOR = "`kaynak doctor` checks it; `kaynak doctor --repair` rebuilds it from the list of sources"


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message says how to fix it. `kind` names the
    fault for code that acts on it: "full", "read-only", "damaged", "server", "newer",
    "model", "busy" or "other"."""

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


def where(settings: Settings) -> str:
    return settings.chroma_url or str(settings.home / "chroma")


def describe(exc: BaseException, settings: Settings) -> str:
    """The fault behind `exc`, said plainly, with what to do about it."""
    return str(fault(exc, settings))


def fault(exc: BaseException, settings: Settings) -> StoreError:
    """The StoreError that says what the fault behind `exc` is and what to do about it."""
    place = where(settings)
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "disk is full" in lowered or "no space left" in lowered:
        return StoreError(
            f"the disk holding {settings.home} is full, so the index could not be written. "
            "What was stored before is unchanged and still answers. Free some space (or set "
            "KAYNAK_HOME to a folder on a larger disk) and run the same command again",
            "full",
        )
    if (
        code in {errno.EROFS, errno.EACCES, errno.EPERM}
        or "readonly" in lowered
        or ("read-only" in lowered)
    ):
        return StoreError(
            f"Kaynak cannot write to {settings.home}: the folder or its disk is read-only, or "
            "you lack permission (Chroma writes there even to read the index). Nothing stored "
            "was changed. Make the folder writable, or copy it to a folder that is "
            f"(cp -r {settings.home} ~/kaynak-copy) and set KAYNAK_HOME to the copy",
            "read-only",
        )
    if any(
        sign in lowered
        for sign in ("malformed", "not a database", "file is encrypted", "database corrupt")
    ) or (code is None and "no such table" in lowered):
        return StoreError(
            f"the index at {place} is damaged ({exc}). Your sources are not affected: {DOCTOR}",
            "damaged",
        )
    if settings.chroma_url and any(
        sign in lowered
        for sign in (
            "connect",
            "connection",
            "remoteprotocolerror",
            "server disconnected",
            "timed out",
            "timeout",
            "could not connect",
        )
    ):
        return StoreError(
            f"the Chroma server at {settings.chroma_url} stopped answering ({type(exc).__name__}). "
            "Start it again (`chroma run --path DIR`) and run the same command again: what "
            "it had stored is kept, and an interrupted ingest is finished on the next run",
            "server",
        )
    return StoreError(f"the index at {place} failed ({text}). {DOCTOR}")


@contextmanager
def storage_faults(settings: Settings) -> Iterator[None]:
    """Turn any failure of the disk, the index or the server inside the block into a
    StoreError that says what to do (StoreErrors pass through as they are)."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if not _is_storage_fault(exc):
            raise
        log.debug("storage fault", exc_info=True)
        raise fault(exc, settings) from exc


_STORAGE_MODULES = ("chromadb", "sqlite3", "httpx", "httpcore")


def _is_storage_fault(exc: BaseException) -> bool:
    """Raised by the disk, SQLite, Chroma or its HTTP client (not a bug in Kaynak's code)."""
    chain = [exc, exc.__cause__, exc.__context__]
    return any(
        isinstance(e, OSError) or type(e).__module__.startswith(_STORAGE_MODULES)
        for e in chain
        if e is not None
    )
