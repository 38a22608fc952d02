"""What machine a measurement ran on: CPU, GPUs, library versions, thread settings."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from convcost.checks import digits


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_name() -> str:
    """A short label: host name, processor and CPU count."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.node()} ({cpu}, {os.cpu_count()} CPUs)"


def machine_info() -> dict[str, Any]:
    """Device, versions and thread settings, for every result file.

    TensorFlow's inter/intra-op thread settings are reported as set; 0 means "TensorFlow
    chooses" (by default, one thread per core it can use).
    """
    import keras
    import numpy as np

    backend = keras.backend.backend()
    threads = _tensorflow_threads() if backend == "tensorflow" else (None, None)
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "gpus": gpu_names(), "tensorflow": installed_version("tensorflow"),
            "keras": keras.__version__, "backend": backend, "numpy": np.__version__,
            "python": platform.python_version(),
            "inter_op_threads": threads[0], "intra_op_threads": threads[1],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def gpu_names() -> list[str]:
    """The GPUs the Keras backend sees (model names on TensorFlow); [] when there are none."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                for gpu in tf.config.list_physical_devices("GPU")]
    try:
        return [str(device) for device in keras.distribution.list_devices("gpu")]
    except RuntimeError:  # JAX raises when asked for a platform it does not have
        return []


def installed_version(package: str) -> str | None:
    """The installed version of a distribution, or None."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _tensorflow_threads() -> tuple[int, int]:
    import tensorflow as tf

    return (tf.config.threading.get_inter_op_parallelism_threads(),
            tf.config.threading.get_intra_op_parallelism_threads())


def last_level_cache_bytes(root: str = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """The size of the largest data (or unified) cache of CPU 0 as Linux reports it under
    ``root``, in bytes; None where it does not (other systems, containers hiding /sys)."""
    from pathlib import Path

    sizes = []
    for index in Path(root).glob("index*"):
        try:
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            sizes.append(_cache_size(size))
    known = [size for size in sizes if size]
    return max(known) if known else None


def _cache_size(text: str) -> int:
    """Bytes of a sysfs cache size (``32768K``, ``1M``, ``512``); 0 if unreadable."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
    return int(number) * unit if digits(number) else 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages from /proc/loadavg ("?" where there is none)."""
    try:
        with open("/proc/loadavg", encoding="utf-8") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "?"


def versions(packages: list[str]) -> dict[str, str | None]:
    """Installed versions of ``packages`` (None for those not installed)."""
    return {package: installed_version(package) for package in packages}


THREADS_PER_CPU = 4
"""Bound on threads (and logical devices) per usable CPU: beyond it each CPU only time-shares
more of them, and tens of thousands crash TensorFlow's thread pools."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_threads(label: str, value: int, shown: str | None = None) -> int:
    """``value`` threads or devices if at most :data:`THREADS_PER_CPU` per usable CPU."""
    from convcost import checks

    cpus = usable_cpus()
    return checks.at_most(label, value, THREADS_PER_CPU * cpus,
                          f"{THREADS_PER_CPU} per CPU; this machine has {cpus}", shown=shown)


def check_memory(need: int, *, purpose: str, parts: str, received: str) -> None:
    """Refuse, in one line, a run that needs more than the memory available (unknown: allow).

    The bytes-only sibling of :func:`convcost.measure.fits.check_fits`, for runs sized by
    their arguments rather than by a model's counts (probe's matrices, a rewrite's weights).
    """
    from convcost.errors import ConvcostError

    free = available_memory()
    if free is None or need <= free:
        return
    raise ConvcostError(f"{purpose} would need at least {size_text(need)} of memory ({parts}) "
                        f"and this machine has {size_text(free)} available. Received: "
                        f"{received}.")


def size_text(count: int) -> str:
    """Bytes in words: 1.2 TB, 3.4 GB, 512 bytes."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


def available_memory() -> int | None:
    """Bytes this process may still allocate: the kernel's ``MemAvailable``, capped by the
    cgroup's limit (a container's ``memory.max`` minus its use); None where neither is known."""
    limits = [value for value in (_meminfo_available(), _cgroup_room()) if value is not None]
    return min(limits) if limits else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="utf-8") as handle:
            limit = handle.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="utf-8") as handle:
            used = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)
