"""Atomic writes: the whole new file or the old one, the usual mode, one-line errors."""

from __future__ import annotations

import os
import stat

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
