"""What an LLM needs on a named device: memory (weights, KV cache, activations), whether it
fits, the largest batch that fits, and roofline bounds on time to first token and time per
output token.

A phase (a prefill, a decode step, or the sum of decode steps) takes at least
``max(FLOPs / peak, bytes / bandwidth)``: its FLOPs at the device's dense peak for the
compute dtype, and its bytes (weights read at ``weight_bits``, KV cache read and written at
``kv_bits``) at the memory bandwidth. Activation traffic is left out (kept on chip by fused
kernels), and a sum of steps is bounded as one phase, so every number is a *bound*: real
runs are slower. ``efficiency`` (0 < e <= 1) scales peak and bandwidth for a realistic guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost import checks
from convcost.analysis.decode import CacheLayout, Phase, Precision
from convcost.errors import ConvcostError
from convcost.files import read_json
from convcost.models.devices import GB, PRESETS, THIS_MACHINE, DeviceSpec

MAX_DEVICE_FILE_BYTES = 1 << 20  # a device file is a few hundred bytes of JSON
DTYPE_BITS = {"float32": 32, "float16": 16, "bfloat16": 16}


# --- devices ---------------------------------------------------------------------------------


def resolve_device(name: str) -> DeviceSpec:
    """A preset id, ``this_machine`` (the profile ``convcost probe`` saved), or a JSON file
    with ``peak_tflops`` (or ``peak_flops``) per dtype, ``bandwidth_gbs`` and ``memory_gb``."""
    if name in PRESETS:
        return PRESETS[name]
    if name == THIS_MACHINE:
        return this_machine()
    if name.endswith(".json") or Path(name).expanduser().is_file():
        return device_from_file(Path(name).expanduser())
    known = ", ".join([*PRESETS, THIS_MACHINE])
    raise ConvcostError(f"Unknown device; use one of {known}, or a JSON file. "
                        f"Received: --device {name!r}.")


def this_machine() -> DeviceSpec:
    """This machine as ``convcost probe`` measured it (float32 matmul peak, copy bandwidth),
    with its physical memory."""
    from convcost.analysis.devices import default_profile_path, load_profile

    path = default_profile_path()
    if not path.exists():
        raise ConvcostError(f"No profile of this machine; run 'convcost probe' first. "
                            f"Received: no file at {str(path)!r}.")
    profile = load_profile(path)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    source = f"measured by 'convcost probe' ({path})"
    return DeviceSpec(THIS_MACHINE, f"this machine: {profile.name}",
                      {"float32": profile.peak_flops}, profile.bandwidth, float(memory),
                      {"peak": source, "bandwidth": source,
                       "memory": "physical memory (sysconf SC_PHYS_PAGES)"},
                      "float32 only: probe measures a float32 matmul")


def device_from_file(path: Path) -> DeviceSpec:
    """A device described in a JSON file (the shape ``devices --format json`` prints)."""
    data = read_json(path, what="device file", max_bytes=MAX_DEVICE_FILE_BYTES,
                     invalid="cannot be read as JSON")
    if not isinstance(data, dict):
        raise ConvcostError(f"The device file must hold a JSON object. Received: "
                            f"{type(data).__name__} in {str(path)!r}.")
    peak = _peaks(data, path)
    bandwidth = _scaled(data, "bandwidth_gbs", GB, "bandwidth_bytes_per_s", path)
    memory = _scaled(data, "memory_gb", GB, "memory_bytes", path)
    given = data.get("sources")
    sources: dict[str, Any] = given if isinstance(given, dict) else {}
    return DeviceSpec(str(data.get("id", path.stem)), str(data.get("name", path.stem)), peak,
                      bandwidth, memory, {k: str(v) for k, v in sources.items()} or
                      {"peak": str(path), "bandwidth": str(path), "memory": str(path)})


def _peaks(data: dict[str, Any], path: Path) -> dict[str, float]:
    tera = data.get("peak_tflops")
    raw = data.get("peak_flops")
    found, scale = (tera, 1e12) if isinstance(tera, dict) else (raw, 1.0)
    if not isinstance(found, dict) or not found:
        raise ConvcostError(f"The device file needs 'peak_tflops': {{dtype: TFLOP/s}}. "
                            f"Received: {tera!r} in {str(path)!r}.")
    return {str(k): checks.positive(f"peak of {k}", v) * scale for k, v in found.items()}


def _scaled(data: dict[str, Any], key: str, scale: float, raw_key: str, path: Path) -> float:
    value = data.get(key)
    if value is None and data.get(raw_key) is not None:
        value, scale = data[raw_key], 1.0
    try:
        return checks.positive(key, value) * scale
    except ConvcostError:
        raise ConvcostError(f"The device file needs a positive number {key!r}. Received: "
                            f"{value!r} in {str(path)!r}.") from None


def peak_for(device: DeviceSpec, dtype: str) -> float:
    """The device's dense peak for ``dtype``; a one-line error when it lists none."""
    if dtype not in device.peak:
        raise ConvcostError(f"{device.name} lists no {dtype} peak (it lists "
                            f"{', '.join(device.peak)}); pass --dtype with one of them. "
                            f"Received: --dtype {dtype}.")
    return device.peak[dtype]


# --- memory and time -------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Bytes one configuration needs: resident weights, KV cache, largest activation set."""

    weight_bytes: float
    kv_cache_bytes: float
    activation_bytes: float

    @property
    def total(self) -> float:
        return self.weight_bytes + self.kv_cache_bytes + self.activation_bytes


def memory(params: int, layout: CacheLayout, phase: Phase, *, tokens: int, batch: int,
           precision: Precision) -> Memory:
    """Memory of ``batch`` sequences of ``tokens`` tokens; activations: the largest layer
    call's inputs and output in ``phase`` (a lower bound on the working set)."""
    largest = max((row.activations for row in phase.rows), default=0) // max(phase.steps, 1)
    return Memory(precision.weight_bytes(params), layout.bytes(tokens, precision, batch),
                  float(batch * largest * precision.activation_bytes))


def largest_batch(device: DeviceSpec, params: int, layout: CacheLayout, phase: Phase, *,
                  tokens: int, precision: Precision) -> int:
    """The most sequences of ``tokens`` tokens that fit beside the weights (0: none)."""
    one = memory(params, layout, phase, tokens=tokens, batch=1, precision=precision)
    per_sequence = one.kv_cache_bytes + one.activation_bytes
    room = device.memory - one.weight_bytes
    return max(int(room // per_sequence), 0) if per_sequence > 0 else 0


@dataclass(frozen=True)
class PhaseTime:
    """The roofline bound of one phase: seconds, and which limit sets it."""

    seconds: float
    compute_s: float
    memory_s: float
    flops: int
    bytes: float

    @property
    def limit(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


def phase_time(phase: Phase, device: DeviceSpec, *, dtype: str, batch: int,
               precision: Precision, efficiency: float = 1.0) -> PhaseTime:
    """``max(FLOPs / peak, bytes / bandwidth)`` of ``phase`` at ``batch``, over
    ``efficiency``."""
    flops = batch * phase.total("flops")
    moved = (precision.weight_bytes(phase.total("weights_read"))
             + precision.kv_bytes(batch * (phase.total("kv_read") + phase.total("kv_written"))))
    compute = flops / (peak_for(device, dtype) * efficiency)
    traffic = moved / (device.bandwidth * efficiency)
    return PhaseTime(max(compute, traffic), compute, traffic, flops, moved)


def check_efficiency(efficiency: float) -> float:
    """``efficiency`` if 0 < e <= 1, else a one-line error."""
    if not 0 < efficiency <= 1:
        raise ConvcostError(f"--efficiency must be in (0, 1]: the fraction of the peak and "
                            f"bandwidth reached. Received: {efficiency}.")
    return efficiency


def default_bits(dtype: str) -> int:
    """Bits of the compute dtype (weight and KV bits follow it unless given)."""
    if dtype not in DTYPE_BITS:
        raise ConvcostError(f"Unknown dtype; use one of {', '.join(DTYPE_BITS)}. "
                            f"Received: {dtype!r}.")
    return DTYPE_BITS[dtype]
