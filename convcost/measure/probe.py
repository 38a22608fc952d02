"""This machine's yardsticks: attainable float32 matmul FLOP/s and memory copy bandwidth.

:func:`probe` makes the :class:`~convcost.analysis.roofline.DeviceProfile` behind roofline
bounds: the best of a few float32 ``n x n`` matmuls (``2n³`` FLOPs) for the peak, the best of
a few NumPy copies of a large array (bytes = read + write) for the bandwidth. Both are what a
program reaches, not datasheet numbers, and the peak is only as good as the library measured:
NumPy's matmul can be well below what the backend's convolutions reach, hence the default
``method="keras"``. :func:`peak_matmul` is the same matmul timed by its median, the yardstick
``bench`` and ``train`` set achieved GFLOP/s against.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from convcost import checks
from convcost.analysis.roofline import GIGA, DeviceProfile
from convcost.errors import ConvcostError
from convcost.measure.machine import check_memory, machine_name
from convcost.measure.timing import Timings, best_time, matmul_work, time_repeats

PROBE_METHODS = ("keras", "numpy")


def probe(*, matmul_size: int = 2048, copy_mb: int = 256, repeats: int = 5,
          method: str = "keras") -> DeviceProfile:
    """Measure this machine's float32 matmul FLOP/s and memory copy bandwidth.

    Each is the best (fastest) of ``repeats`` runs after one warm-up run: a peak is what the
    machine *can* reach, and the best run is the least disturbed by other processes.

    Args:
        matmul_size: ``n`` of the ``n x n`` float32 matmul (``2n³`` FLOPs).
        copy_mb: size of the copied array in MiB (bytes moved = 2 x size: read + write).
        repeats: timed runs of each.
        method: ``"keras"`` times ``keras.ops.matmul`` compiled by the Keras backend, the
            library the layers themselves run on; ``"numpy"`` avoids importing TensorFlow
            but may understate the peak the layers can reach.
            The copy is always a NumPy ``copyto``.
    """
    import numpy as np

    for label, value in (("matmul_size", matmul_size), ("copy_mb", copy_mb),
                         ("repeats", repeats)):
        checks.count(label, value)
    if method not in PROBE_METHODS:
        raise ConvcostError(f"Unknown probe method; use keras or numpy. Received: {method!r}.")
    check_probe_memory(matmul_size, copy_mb)
    a, b = _square_matrices(matmul_size)
    matmul_s = best_time(matmul_work(a, b, method), repeats)
    src = np.ones(copy_mb * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    copy_s = best_time(lambda: np.copyto(dst, src), repeats)
    details = {"method": f"{method} float32 matmul; numpy copyto", "matmul_size": matmul_size,
               "copy_bytes": int(src.nbytes), "repeats": repeats,
               "matmul_seconds": matmul_s, "copy_seconds": copy_s,
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return DeviceProfile(2 * matmul_size**3 / matmul_s, 2 * src.nbytes / copy_s,
                         name=machine_name(), source="probe", details=details)


@dataclass(frozen=True)
class Peak:
    """The attainable float32 matmul rate: ``2n³`` FLOPs per ``n x n`` product."""

    size: int
    timings: Timings

    @property
    def flops(self) -> int:
        return 2 * self.size**3

    @property
    def gflops(self) -> float:
        """GFLOP/s at the median time."""
        return self.flops / self.timings.median / GIGA

    @property
    def best_gflops(self) -> float:
        """GFLOP/s of the fastest run (the least disturbed by other processes)."""
        return self.flops / self.timings.min / GIGA


def peak_matmul(size: int = 2048, repeats: int = 10, warmup: int = 2) -> Peak:
    """Median time of a compiled float32 ``size x size`` matmul, as attainable GFLOP/s.

    Args:
        size: ``n`` of the square matrices.
        repeats: timed runs.
        warmup: untimed runs first (tracing, thread-pool start-up).
    """
    checks.count("size", size, shown=f"size={size}")
    check_probe_memory(size, 0, purpose="the matmul peak")
    a, b = _square_matrices(size)
    return Peak(size, time_repeats(matmul_work(a, b), repeats, warmup))


def check_probe_memory(matmul_size: int, copy_mb: int, *, purpose: str = "probe") -> None:
    """Refuse sizes whose arrays cannot fit, before allocating any: the matmul's two operands
    and result (``3 n²`` float32) and the copy's source and destination (``2 x copy_mb`` MiB)
    are alive together."""
    need = 3 * matmul_size**2 * 4 + 2 * copy_mb * 2**20
    check_memory(need, purpose=purpose, parts=f"{matmul_size:,}² float32 matrices x 3, "
                 f"{copy_mb:,} MiB copied x 2", received=f"matmul_size={matmul_size}, "
                 f"copy_mb={copy_mb}")


def _square_matrices(size: int) -> tuple[object, object]:
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in "ab")
    return a, b
