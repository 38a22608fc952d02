"""Atomic writes: the whole new file or the old one, the usual mode, one-line errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from convcost import files
from convcost.errors import ConvcostError


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a directory where the file should go: os.replace fails
    with pytest.raises(ConvcostError, match="Cannot write the file.*Received: .*taken"):
        files.write_text(target, "text", make_parents=True)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    assert list(target.iterdir()) == []


def test_an_error_inside_the_block_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_new_files_get_the_usual_mode_and_replaced_files_keep_theirs(tmp_path):
    mask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        files.write_text(fresh, "{}")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        fresh.chmod(0o600)
        files.write_text(fresh, "[]")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
        assert fresh.read_text() == "[]"
    finally:
        os.umask(mask)


def test_parents_are_made_only_when_asked(tmp_path):
    nested = tmp_path / "a" / "b" / "out.md"
    with pytest.raises(ConvcostError, match="Cannot write the output file.*Received"):
        files.write_text(nested, "x", what="output file")
    files.write_text(nested, "x", make_parents=True)
    assert nested.read_text() == "x"


def test_write_bytes_replaces_whole_and_fails_in_one_line(tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old")
    files.write_bytes(target, b"\x00TFL3\xff", what="output file")
    assert target.read_bytes() == b"\x00TFL3\xff"
    taken = tmp_path / "taken.tflite"
    taken.mkdir()
    with pytest.raises(ConvcostError, match=r"Cannot write the output file.*Received: .*taken"):
        files.write_bytes(taken, b"x", what="output file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite", "taken.tflite"]


# --- special files: inputs refused before opening, outputs written through -------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.keras"
    os.mkfifo(path)
    return path


def test_regular_file_refuses_a_fifo_without_opening_it(fifo):
    with pytest.raises(ConvcostError, match=r"must be a regular file, not a named pipe \(FIFO\)"):
        files.regular_file(fifo, what="model file")  # opening it would block forever


def test_regular_file_refuses_a_symlink_to_a_device(tmp_path):
    link = tmp_path / "zero.h5"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConvcostError, match="not a character device. Received: .*zero.h5"):
        files.regular_file(link)


def test_regular_file_refuses_a_directory_and_a_missing_file(tmp_path):
    with pytest.raises(ConvcostError, match="not a directory"):
        files.regular_file(tmp_path, what="profile")
    with pytest.raises(ConvcostError, match="The profile does not exist"):
        files.regular_file(tmp_path / "nope.json", what="profile")


def test_regular_file_checks_the_size_before_reading(tmp_path):
    sparse = tmp_path / "huge.bin"
    with open(sparse, "wb") as handle:
        handle.truncate(1 << 40)  # 1 TiB, sparse: nothing on disk
    with pytest.raises(ConvcostError, match="too big to read: 1,099,511,627,776 bytes"):
        files.regular_file(sparse, max_bytes=1 << 20)
    assert files.regular_file(sparse) == sparse


def test_output_to_a_fifo_is_written_through_not_replaced(fifo):
    import threading

    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    files.write_text(fifo, "report\n", what="output file")
    reader.join(timeout=30)
    assert received == [b"report\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe
    assert [p.name for p in fifo.parent.iterdir()] == ["pipe.keras"]  # no temp file left


@pytest.fixture
def null_device(tmp_path):
    """A private copy of /dev/null (a character device node), so no test risks the real one."""
    node = tmp_path / "null.json"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    return node


def test_output_to_a_device_is_written_through_not_replaced(null_device):
    files.write_text(null_device, "x" * 10, what="output file")
    assert stat.S_ISCHR(null_device.stat().st_mode)  # -o /dev/null keeps /dev/null
    assert null_device.read_bytes() == b""  # what was written went to the device


def test_write_through_is_chosen_for_devices_and_pipes_only(tmp_path, fifo):
    regular = tmp_path / "plain.txt"
    regular.write_text("old")
    assert (files._special(fifo), files._special(regular),
            files._special(tmp_path / "new.txt"), files._special(tmp_path)) == (
        True, False, False, False)
    assert files._special(Path("/dev/null"))


def test_read_json_reads_a_document_and_says_why_it_cannot(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"a": [1, 2]}')
    bad.write_text("{")
    assert files.read_json(good, what="profile", max_bytes=100) == {"a": [1, 2]}
    with pytest.raises(ConvcostError, match=r"^The profile is not valid JSON \(Expecting .*\); "
                                            r"run it again\. Received: .*bad\.json'\.$"):
        files.read_json(bad, what="profile", max_bytes=100, advice="; run it again")
    with pytest.raises(ConvcostError, match="too big to read: 13 bytes, more than 12"):
        files.read_json(good, what="profile", max_bytes=12)
