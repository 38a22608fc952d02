"""The machine record written beside every measurement."""

from __future__ import annotations

import os

import pytest

from convcost.errors import ConvcostError
from convcost.measure import machine


def test_machine_record() -> None:
    import keras
    import tensorflow as tf

    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    info = machine.machine_info()
    assert info["cpu"] == names[0]
    assert info["cpu_count"] == os.cpu_count()
    assert (info["tensorflow"], info["keras"]) == (tf.__version__, keras.__version__)
    assert len(info["gpus"]) == len(tf.config.list_physical_devices("GPU"))


def test_no_gpu_is_an_empty_list_not_an_error() -> None:
    import tensorflow as tf

    assert len(machine.gpu_names()) == len(tf.config.list_physical_devices("GPU"))


# --- the memory guard and the thread bound -------------------------------------------------


def test_check_memory_refuses_more_than_available(monkeypatch) -> None:
    monkeypatch.setattr(machine, "available_memory", lambda: 8 * 10**9)
    machine.check_memory(8 * 10**9, purpose="probe", parts="arrays", received="x")  # fits
    with pytest.raises(ConvcostError, match=r"^probe would need at least 8.0 GB of memory "
                                            r"\(arrays\) and this machine has 8.0 GB available. "
                                            r"Received: x.$"):
        machine.check_memory(8 * 10**9 + 1, purpose="probe", parts="arrays", received="x")


def test_check_memory_allows_anything_where_memory_is_unknown(monkeypatch) -> None:
    monkeypatch.setattr(machine, "available_memory", lambda: None)
    machine.check_memory(10**18, purpose="probe", parts="arrays", received="x")


def test_threads_are_bounded_by_the_cpus(monkeypatch) -> None:
    monkeypatch.setattr(machine, "usable_cpus", lambda: 2)
    assert machine.check_threads("--threads", 8) == 8
    with pytest.raises(ConvcostError, match=r"--threads must be at most 8 \(4 per CPU; this "
                                            r"machine has 2\). Received: 9."):
        machine.check_threads("--threads", 9)


def test_usable_cpus_is_the_affinity_mask() -> None:
    assert machine.usable_cpus() == len(os.sched_getaffinity(0))


def test_the_last_level_cache_is_the_largest_data_or_unified_one(tmp_path) -> None:
    for index, (level, kind, size) in enumerate([(1, "Data", "48K"), (1, "Instruction", "64M"),
                                                 (2, "Unified", "1M"), (3, "Unified", "32768K")]):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
    assert machine.last_level_cache_bytes(str(tmp_path)) == 32 * 1024 * 1024
    (tmp_path / "index3" / "size").write_text("garbled\n")
    assert machine.last_level_cache_bytes(str(tmp_path)) == 1024 * 1024  # the L2 then


def test_no_cache_information_is_none(tmp_path) -> None:
    assert machine.last_level_cache_bytes(str(tmp_path / "absent")) is None
