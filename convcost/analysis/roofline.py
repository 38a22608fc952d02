"""Device profiles (peak FLOP/s, memory bandwidth), a probe that measures them, roofline bounds.

The roofline model: a layer that does ``F`` FLOPs and moves ``B`` bytes cannot take less than
``max(F / peak, B / bandwidth)`` seconds. It is *compute-bound* when the first term is larger,
i.e. when its intensity ``F / B`` is above the device's ridge point ``peak / bandwidth``, and
*memory-bound* otherwise. The model's predicted time is the sum of its layers' bounds (layers
run one after the other).

:func:`probe` measures this machine: the best of a few float32 ``n x n`` matmuls (``2n³`` FLOPs)
run by the Keras backend (or NumPy) for the peak, and the best of a few NumPy copies of a large
array (bytes = read + write) for the bandwidth. Both are what a program reaches, not datasheet
numbers, and the peak is only as good as the library measured: NumPy's matmul can be well
below what the backend's convolutions reach, hence the default ``method="keras"``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.errors import ConvcostError
from convcost.files import write_text

if TYPE_CHECKING:
    from convcost.analysis.memory import Memory

GIGA = 1e9


@dataclass(frozen=True)
class DeviceProfile:
    """What a device reaches: peak FLOP/s and memory bandwidth in bytes/s.

    Attributes:
        peak_flops: FLOPs per second (e.g. ``50e9``).
        bandwidth: bytes per second (e.g. ``20e9``).
        name: a label (host name and CPU, or "user").
        source: how it was obtained: "probe", "user", or the file it was read from.
        details: how it was measured (sizes, repeats, date); free-form, JSON-serialisable.
    """

    peak_flops: float
    bandwidth: float
    name: str = "user"
    source: str = "user"
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for label, value in (("peak FLOP/s", self.peak_flops), ("bandwidth", self.bandwidth)):
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ConvcostError(f"The device {label} must be a positive number. "
                                    f"Received: {value!r}.")

    @property
    def ridge(self) -> float:
        """The ridge point, FLOPs per byte: above it a layer is compute-bound."""
        return self.peak_flops / self.bandwidth

    def to_json(self) -> dict[str, Any]:
        """A JSON object with the numbers in FLOP/s and bytes/s (and GFLOP/s, GB/s for people)."""
        data = asdict(self)
        data["peak_gflops"] = self.peak_flops / GIGA
        data["bandwidth_gbs"] = self.bandwidth / GIGA
        data["ridge_flops_per_byte"] = self.ridge
        return data


def from_user(peak_gflops: float, bandwidth_gbs: float) -> DeviceProfile:
    """A profile from numbers a user typed, in GFLOP/s and GB/s (10⁹ bytes per second).

    Args:
        peak_gflops: peak compute, GFLOP/s; must be positive.
        bandwidth_gbs: memory bandwidth, GB/s; must be positive.
    """
    for option, value in (("--peak-gflops", peak_gflops), ("--bandwidth-gbs", bandwidth_gbs)):
        if not math.isfinite(value) or value <= 0:
            raise ConvcostError(f"{option} must be a positive number. Received: {value}.")
    return DeviceProfile(peak_gflops * GIGA, bandwidth_gbs * GIGA, name="user", source="user")


# --- bounds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """The roofline lower bound on one layer's time, in seconds, and what limits it."""

    compute_s: float
    memory_s: float

    @property
    def seconds(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def limit(self) -> str:
        """``"compute"`` or ``"memory"`` (a tie counts as compute: the FLOPs are the work)."""
        return "compute" if self.compute_s >= self.memory_s else "memory"


def bound(flops: int, moved_bytes: int, device: DeviceProfile) -> Bound:
    """Roofline bound of work that does ``flops`` FLOPs and moves ``moved_bytes`` bytes.

    Args:
        flops: floating-point operations (``2 * MACs + other FLOPs``).
        moved_bytes: bytes read and written.
        device: the device's peak FLOP/s and bandwidth.
    """
    return Bound(flops / device.peak_flops, moved_bytes / device.bandwidth)


def attainable_flops(intensity: float, device: DeviceProfile) -> float:
    """The roof at ``intensity`` FLOPs/byte: ``min(peak, bandwidth * intensity)`` FLOP/s."""
    return min(device.peak_flops, device.bandwidth * intensity)


def layer_bounds(picture: Memory, device: DeviceProfile) -> tuple[Bound, ...]:
    """The bound of every layer of a :class:`~convcost.analysis.memory.Memory`
    (its batch and dtype).

    Args:
        picture: the model's traffic at one batch size and dtype.
        device: the device's peak FLOP/s and bandwidth.
    """
    return tuple(bound(layer.flops(picture.batch), picture.layer_bytes(layer), device)
                 for layer in picture.layers)


def predicted_seconds(bounds: tuple[Bound, ...]) -> float:
    """The model's predicted time: the sum of its layers' bounds (they run one by one)."""
    return sum(b.seconds for b in bounds)


# --- probe -----------------------------------------------------------------------------------


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
        if value < 1:
            raise ConvcostError(f"{label} must be a positive integer. Received: {value}.")
    if method not in PROBE_METHODS:
        raise ConvcostError(f"Unknown probe method; use keras or numpy. Received: {method!r}.")
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((matmul_size, matmul_size), dtype=np.float32) for _ in "ab")
    matmul_s = _best_time(matmul_work(a, b, method), repeats)
    src = np.ones(copy_mb * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    copy_s = _best_time(lambda: np.copyto(dst, src), repeats)
    details = {"method": f"{method} float32 matmul; numpy copyto", "matmul_size": matmul_size,
               "copy_bytes": int(src.nbytes), "repeats": repeats,
               "matmul_seconds": matmul_s, "copy_seconds": copy_s,
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return DeviceProfile(2 * matmul_size**3 / matmul_s, 2 * src.nbytes / copy_s,
                         name=_machine_name(), source="probe", details=details)


def matmul_work(a: Any, b: Any, method: str = "keras") -> Callable[[], object]:
    """A no-argument function that multiplies ``a`` by ``b`` and waits for the result."""
    if method == "numpy":
        import numpy as np

        return lambda: np.matmul(a, b)
    import keras

    from convcost.measure.profiling import compile_function, synchronize

    x, y = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
    compiled = compile_function(keras.ops.matmul)
    return lambda: synchronize(compiled(x, y))


def _best_time(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up: page faults, thread pool start-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-12)


def _machine_name() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.node()} ({cpu}, {os.cpu_count()} CPUs)"


# --- files -----------------------------------------------------------------------------------


def default_profile_path() -> Path:
    """``$XDG_CONFIG_HOME/convcost/device.json``, by default ``~/.config/convcost/device.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "convcost" / "device.json"


def save_profile(profile: DeviceProfile, path: str | Path) -> Path:
    """Write ``profile`` as JSON, atomically (temp file in the same folder, then replace)."""
    target = Path(path).expanduser()
    text = json.dumps(profile.to_json(), indent=2) + "\n"
    write_text(target, text, make_parents=True)
    return target


def load_profile(path: str | Path) -> DeviceProfile:
    """Read a profile written by :func:`save_profile` (or by hand: the two numbers suffice).

    The file needs ``peak_flops`` (FLOP/s) and ``bandwidth`` (bytes/s), or ``peak_gflops`` and
    ``bandwidth_gbs``. A missing, unreadable or malformed file is a one-line ConvcostError.
    """
    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConvcostError(f"Device profile not found; run 'convcost probe' to make one. "
                            f"Received: {str(file)!r}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = " ".join(str(error).split())
        raise ConvcostError(f"The device profile is not valid JSON ({reason}). "
                            f"Received: {str(file)!r}.") from None
    return _profile_from(data, file)


def _profile_from(data: Any, file: Path) -> DeviceProfile:
    if not isinstance(data, dict):
        raise ConvcostError(f"The device profile must be a JSON object. Received: "
                            f"{type(data).__name__} in {str(file)!r}.")
    peak = _number(data, "peak_flops", "peak_gflops", file)
    bandwidth = _number(data, "bandwidth", "bandwidth_gbs", file)
    details = data.get("details") if isinstance(data.get("details"), dict) else None
    return DeviceProfile(peak, bandwidth, name=str(data.get("name", "file")),
                         source=str(file), details=details)


def _number(data: dict[str, Any], key: str, giga_key: str, file: Path) -> float:
    value = data.get(key)
    scale = 1.0
    if value is None and data.get(giga_key) is not None:
        value, scale = data[giga_key], GIGA
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value <= 0:
        raise ConvcostError(f"The device profile needs a positive number {key!r} (or "
                            f"{giga_key!r}). Received: {value!r} in {str(file)!r}.")
    return float(value) * scale


def resolve(*, peak_gflops: float | None = None, bandwidth_gbs: float | None = None,
            profile_file: str | Path | None = None, required: bool = True) -> DeviceProfile | None:
    """The profile a command should use: a file, the saved default, or the user's numbers.

    Numbers typed by the user override the same number from a file. Without a file, two typed
    numbers make a profile; otherwise the saved default (``convcost probe``) is used.

    Args:
        peak_gflops: ``--peak-gflops``, or None.
        bandwidth_gbs: ``--bandwidth-gbs``, or None.
        profile_file: ``--device-profile``, or None.
        required: whether having no profile at all is an error (else None is returned).
    """
    for option, value in (("--peak-gflops", peak_gflops), ("--bandwidth-gbs", bandwidth_gbs)):
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ConvcostError(f"{option} must be a positive number. Received: {value}.")
    if profile_file is None and peak_gflops is not None and bandwidth_gbs is not None:
        return from_user(peak_gflops, bandwidth_gbs)
    base = _base_profile(profile_file)
    if base is None:
        if required:
            raise ConvcostError(
                "No device profile: run 'convcost probe', or pass --device-profile FILE, or both "
                f"--peak-gflops and --bandwidth-gbs. Received: peak_gflops={peak_gflops}, "
                f"bandwidth_gbs={bandwidth_gbs}, no saved profile at "
                f"{str(default_profile_path())!r}.")
        return None
    return _override(base, peak_gflops, bandwidth_gbs)


def _base_profile(profile_file: str | Path | None) -> DeviceProfile | None:
    if profile_file is not None:
        return load_profile(profile_file)
    default = default_profile_path()
    return load_profile(default) if default.exists() else None


def _override(base: DeviceProfile, peak_gflops: float | None,
              bandwidth_gbs: float | None) -> DeviceProfile:
    if peak_gflops is None and bandwidth_gbs is None:
        return base
    peak = base.peak_flops if peak_gflops is None else peak_gflops * GIGA
    bandwidth = base.bandwidth if bandwidth_gbs is None else bandwidth_gbs * GIGA
    return DeviceProfile(peak, bandwidth, name=base.name, source=f"{base.source} + user",
                         details=base.details)


# --- extra columns for 'convcost analyze' ------------------------------------------------------


@dataclass(frozen=True)
class AnalyzeColumns:
    """What ``analyze --memory`` / ``--roofline`` add to a report's rows, totals and summary.

    Per-row and total fields are per sample (batch 1), like analyze's own counts; the batch
    (``--batch-size``) only adds ``per_batch`` fields, where weights are read once per batch.

    Attributes:
        memory: the report's traffic per sample, in the chosen dtype.
        device: the device for roofline bounds, or None without ``--roofline``.
        show_memory: whether the memory fields are shown (``--memory``).
    """

    memory: Memory
    device: DeviceProfile | None = None
    show_memory: bool = True

    def row_fields(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """One dict per displayed row; a row with ``folded = n`` sums the next n layer calls."""
        layers = iter(self.memory.layers)
        result = []
        for row in rows:
            chunk = [next(layers) for _ in range(max(1, getattr(row, "folded", 0)))]
            result.append(self._fields(chunk))
        return result

    def _fields(self, chunk: Sequence[Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        moved = sum(self.memory.layer_bytes(layer) for layer in chunk)
        flops = sum(layer.flops() for layer in chunk)
        if self.show_memory:
            elements = sum(layer.elements() for layer in chunk)
            fields["bytes"] = moved
            fields["intensity"] = flops / moved if moved else 0.0
            fields["macs_per_element"] = (sum(layer.row.macs for layer in chunk) / elements
                                          if elements else 0.0)
            fields["activation_bytes"] = self.memory.activation_bytes(chunk[-1])
        if self.device is not None:
            limit = bound(flops, moved, self.device)
            fields["bound"] = limit.limit
            fields["bound_seconds"] = limit.seconds
        return fields

    def total_fields(self, batch: int = 1) -> dict[str, Any]:
        """Model totals for a batch (1: per sample)."""
        picture = self.memory if batch == 1 else replace(self.memory, batch=batch)
        fields: dict[str, Any] = {}
        if self.show_memory:
            fields.update(bytes=picture.bytes, weight_bytes=picture.weight_bytes,
                          intensity=picture.intensity,
                          peak_activation_bytes=picture.peak_bytes)
        if self.device is not None:
            fields["predicted_seconds"] = predicted_seconds(layer_bounds(picture, self.device))
        return fields

    def headers(self) -> list[str]:
        names = ["bytes", "FLOP/B", "output bytes"] if self.show_memory else []
        return names + (["bound", "bound µs"] if self.device is not None else [])

    def cells(self, fields: dict[str, Any]) -> list[str]:
        """Table cells of one row's fields (exact bytes, ratios to 2 decimals)."""
        cells = []
        if self.show_memory:
            cells += [f"{fields['bytes']:,}", f"{fields['intensity']:.2f}",
                      f"{fields['activation_bytes']:,}"]
        if self.device is not None:
            cells += [fields["bound"], f"{fields['bound_seconds'] * 1e6:.1f}"]
        return cells

    def total_cells(self) -> list[str]:
        totals = self.total_fields()
        cells = []
        if self.show_memory:
            cells += [f"{totals['bytes']:,}", f"{totals['intensity']:.2f}", ""]
        if self.device is not None:
            cells += ["", f"{totals['predicted_seconds'] * 1e6:.1f}"]
        return cells

    def lines(self, batch: int | None = None) -> list[str]:
        """Summary lines: traffic, intensity, peak memory, prediction; per batch when given."""
        lines = []
        for size in (1,) if batch in (None, 1) else (1, batch):
            lines.append(self._line(size))
        if self.device is not None:
            d = self.device
            lines.append(f"device: {d.peak_flops / GIGA:.1f} GFLOP/s, {d.bandwidth / GIGA:.1f} "
                         f"GB/s, ridge {d.ridge:.2f} FLOP/B ({d.source})")
        return lines

    def _line(self, batch: int) -> str:
        totals = self.total_fields(batch)
        label = "per sample" if batch == 1 else f"per batch of {batch}"
        parts = []
        if self.show_memory:
            peak = self.memory.peak_layer
            parts.append(f"{totals['bytes']:,} bytes moved ({self.memory.dtype}; weights "
                         f"{totals['weight_bytes']:,}), {totals['intensity']:.2f} FLOP/B, peak "
                         f"activation memory {totals['peak_activation_bytes']:,} bytes"
                         + (f" at {peak.row.path}" if peak is not None else ""))
        if self.device is not None:
            parts.append(f"roofline time {totals['predicted_seconds'] * 1e3:.3f} ms")
        return f"{label}: " + " · ".join(parts)
