"""Files in and out: inputs must be regular files of a sane size (a FIFO would block the reader
forever, ``/dev/zero`` never ends); outputs are written atomically (readers see the old file or
the whole new one, never half of it), except to a target that is not a regular file (``-o
/dev/null``, a named pipe), which is written through and never replaced."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError, one_line


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
    special = _special(target)
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
        if special:
            _write_through(temp, target)
        else:
            os.replace(temp, target)
    except OSError as error:
        raise _write_error(error, target, what) from None
    finally:
        temp.unlink(missing_ok=True)


def regular_file(path: str | Path, *, what: str = "file", max_bytes: int | None = None) -> Path:
    """``path`` as a ``Path`` if it names a regular file (symlinks followed), else a one-line
    error; checked before anything opens it, so a FIFO, a device or a directory is refused.

    Args:
        path: the file to read.
        what: how the error names it ("model file", "device profile").
        max_bytes: refuse a bigger file (its size is known before reading it).
    """
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except FileNotFoundError:
        raise ConvcostError(f"The {what} does not exist. Received: {str(path)!r}.") from None
    except OSError as error:
        raise ConvcostError(f"Cannot read the {what}: {error.strerror or error}. "
                            f"Received: {str(path)!r}.") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConvcostError(f"The {what} must be a regular file, not {file_kind(info.st_mode)}. "
                            f"Received: {str(path)!r}.")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ConvcostError(f"The {what} is too big to read: {info.st_size:,} bytes, more than "
                            f"{max_bytes:,}. Received: {str(path)!r}.")
    return file


def read_json(path: str | Path, *, what: str, max_bytes: int, advice: str = "",
              invalid: str = "is not valid JSON") -> Any:
    """The JSON document in ``path``, a regular file of at most ``max_bytes``
    (:func:`regular_file`); a file that cannot be read or decoded is one line: "The {what}
    {invalid} (why){advice}. Received: path." """
    file = regular_file(path, what=what, max_bytes=max_bytes)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConvcostError(f"The {what} {invalid} ({one_line(error)}){advice}. Received: "
                            f"{str(path)!r}.") from None


def file_kind(mode: int) -> str:
    """What a ``st_mode`` names, in words: "a directory", "a named pipe (FIFO)", ..."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


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


def _special(target: Path) -> bool:
    """Whether ``target`` exists and is neither a regular file nor a directory (a device, a
    named pipe): such a target is written through, not replaced."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _write_through(temp: Path, target: Path) -> None:
    """Copy the finished temp file into ``target`` (opened for writing, never replaced)."""
    with open(temp, "rb") as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)


def _mode_for(target: Path) -> int:
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_error(error: OSError, target: Path, what: str) -> ConvcostError:
    return ConvcostError(f"Cannot write the {what}: {error.strerror or error}. "
                         f"Received: {str(target)!r}.")
