"""Roofline bounds: device profiles (peak FLOP/s, bandwidth) and each layer's lower time bound.

The roofline model: a layer that does ``F`` FLOPs and moves ``B`` bytes cannot take less than
``max(F / peak, B / bandwidth)`` seconds. It is *compute-bound* when the first term is larger,
i.e. when its intensity ``F / B`` is above the device's ridge point ``peak / bandwidth``, and
*memory-bound* otherwise. The model's predicted time is the sum of its layers' bounds (layers
run one after the other). :func:`convcost.measure.probe.probe` measures a profile of this
machine; :mod:`convcost.analysis.devices` saves and loads profiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from convcost import checks
from convcost.analysis.folding import fold

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
        checks.positive("The device peak FLOP/s", self.peak_flops)
        checks.positive("The device bandwidth", self.bandwidth)

    @property
    def ridge(self) -> float:
        """The ridge point, FLOPs per byte: above it a layer is compute-bound."""
        return self.peak_flops / self.bandwidth

    def to_dict(self) -> dict[str, Any]:
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
    checks.positive("--peak-gflops", peak_gflops, shown=str(peak_gflops))
    checks.positive("--bandwidth-gbs", bandwidth_gbs, shown=str(bandwidth_gbs))
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


# --- the fields 'convcost analyze --memory/--roofline' adds ---------------------------------


@dataclass(frozen=True)
class MemoryRooflineFields:
    """What ``analyze --memory`` / ``--roofline`` add to a report's rows and totals (data only;
    :mod:`convcost.render.columns` turns them into cells and lines).

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
        """One dict per displayed row; a row with ``folded = n`` sums the next n layer calls
        (:func:`~convcost.analysis.folding.fold`)."""
        return [self._fields(chunk) for chunk in fold(self.memory.layers, rows)]

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
