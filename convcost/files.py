"""Atomic file output: readers see the old file or the whole new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from convcost.errors import ConvcostError


@contextlib.contextmanager
def atomic_path(target: str | Path, *, make_parents: bool = False,
                what: str = "file") -> Iterator[Path]:
    """A temporary path beside ``target``; on success it replaces ``target``, else it is removed.

    Write to the yielded path (``savefig(temp)``, ``model.save(temp)``); the temp file keeps
    ``target``'s suffix. The result gets the replaced file's mode, or 0666 less the umask (as
    ``open()`` would give), not the temp file's 0600. An OSError becomes a one-line error.

    Args:
        target: the file to write.
        make_parents: create missing parent folders first.
        what: how the error message names the file (e.g. "output file").
    """
    target = Path(target).expanduser()
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=target.suffix or ".tmp")
        os.close(handle)
        os.chmod(name, _mode_for(target))
    except OSError as error:
        raise _write_error(error, target, what) from None
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    except OSError as error:
        raise _write_error(error, target, what) from None
    finally:
        temp.unlink(missing_ok=True)


def write_text(target: str | Path, text: str, *, make_parents: bool = False,
               what: str = "file") -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically; see :func:`atomic_path`."""
    with atomic_path(target, make_parents=make_parents, what=what) as temp:
        temp.write_text(text, encoding="utf-8")


def write_bytes(target: str | Path, data: bytes, *, what: str = "file") -> None:
    """Write ``data`` to ``target`` atomically; see :func:`atomic_path`."""
    with atomic_path(target, what=what) as temp:
        temp.write_bytes(data)


def check_output_path(path: str | Path) -> Path:
    """The output path as a ``Path`` if a ``.keras`` file can be written there, else an error.

    Cheap and free of Keras, so commands can check it before the slow import.
    """
    target = Path(path)
    if target.suffix.lower() != ".keras":
        raise ConvcostError(f"The output file must end in .keras. Received: {str(path)!r}.")
    parent = target.parent
    problem = ("does not exist" if not parent.exists() else
               "is not a directory" if not parent.is_dir() else
               "is not writable" if not os.access(parent, os.W_OK | os.X_OK) else "")
    if problem:
        raise ConvcostError(f"The output folder {problem}. Received: {str(path)!r}.")
    if target.is_dir():
        raise ConvcostError(f"The output path is a directory. Received: {str(path)!r}.")
    return target


def _mode_for(target: Path) -> int:
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_error(error: OSError, target: Path, what: str) -> ConvcostError:
    return ConvcostError(f"Cannot write the {what}: {error.strerror or error}. "
                         f"Received: {str(target)!r}.")
