"""Named devices: datasheet numbers (dense peak per dtype, memory bandwidth, memory size) and
the document each number comes from.

Plain data: listing them imports nothing. Units are SI: FLOP/s (or OP/s for int8), bytes/s,
bytes (1 GB = 10⁹ bytes; a "24 GB" card is taken as 24·10⁹ bytes, what the vendor prints).
Peaks are *dense* (no 2:4 structured sparsity): vendors print the sparse figure beside the
dense one, at twice it; LLM inference uses the dense one. A dtype a device does not list
(bfloat16 on a T4) is absent, never guessed.

H100 SXM bandwidth: 3.35 TB/s, the NVIDIA H100 datasheet's figure for the SXM5 80 GB board
(HBM3). Other calculators use 3072 GB/s (3 TiB/s, a units slip: 3.35·10¹² bytes/s is 3.05
TiB/s, not 3072 GB/s) or 3400 GB/s (rounded up); 3350 is the number NVIDIA prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERA = 1e12
GB = 1e9


@dataclass(frozen=True)
class DeviceSpec:
    """One named device.

    Args:
        id: the name ``--device`` takes (``h100_sxm``).
        name: the product name.
        peak: dense peak operations per second per dtype (``"bfloat16": 989.4e12``).
        bandwidth: memory bandwidth, bytes/s.
        memory: memory size, bytes (the largest configuration for unified-memory chips).
        sources: the document behind each number, by field (``"peak"``, ``"bandwidth"``,
            ``"memory"``).
        note: what the numbers mean where it is not obvious (estimates say so).
    """

    id: str
    name: str
    peak: dict[str, float]
    bandwidth: float
    memory: float
    sources: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Every number with its unit in the key, and its source."""
        return {"id": self.id, "name": self.name,
                "peak_flops": dict(self.peak),
                "peak_tflops": {k: v / TERA for k, v in self.peak.items()},
                "bandwidth_bytes_per_s": self.bandwidth, "bandwidth_gbs": self.bandwidth / GB,
                "memory_bytes": self.memory, "memory_gb": self.memory / GB,
                "sources": dict(self.sources), "note": self.note}


_H100 = "NVIDIA H100 Tensor Core GPU datasheet (nvidia.com, H100 datasheet, 2023)"
_A100 = "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com, A100 datasheet, 2021)"
_L4 = "NVIDIA L4 Tensor Core GPU datasheet (nvidia.com, L4 datasheet, 2023)"
_T4 = "NVIDIA T4 Tensor Core GPU datasheet (nvidia.com, T4 datasheet, 2019)"
_ADA = ("NVIDIA Ada GPU Architecture whitepaper v2.1, Appendix A table 'GeForce RTX 4090' "
        "(FP16/BF16 tensor with FP32 accumulate, dense)")
_V5E = "Google Cloud TPU documentation, 'TPU v5e' system architecture page (cloud.google.com)"
_M2 = "Apple newsroom, 'Apple unveils M2' (June 6, 2022): 3.6 TFLOPS GPU, 100GB/s, up to 24GB"
_M3 = ("Apple newsroom, 'Apple unveils M3, M3 Pro, M3 Max' (Oct 30, 2023): 100GB/s, up to "
       "24GB (M3)")
_PI5 = ("Raspberry Pi 5 product brief (raspberrypi.com): 4x Cortex-A76 at 2.4 GHz, LPDDR4X-4267 "
        "on a 32-bit bus, up to 16GB")


def _nvidia(id: str, name: str, peak: dict[str, float], bandwidth: float, memory: float,
            source: str, note: str = "") -> DeviceSpec:
    return DeviceSpec(id, name, {k: v * TERA for k, v in peak.items()}, bandwidth * GB,
                      memory * GB, {"peak": source, "bandwidth": source, "memory": source},
                      note)


PRESETS: dict[str, DeviceSpec] = {spec.id: spec for spec in (
    _nvidia("h100_sxm", "NVIDIA H100 SXM5 80GB",
            {"float32": 67.0, "tfloat32": 494.7, "bfloat16": 989.4, "float16": 989.4,
             "float8": 1978.9, "int8": 1978.9}, 3350, 80, _H100,
            "3.35 TB/s HBM3 as printed for H100 SXM (not 3072 = 3 TiB/s, not 3400)"),
    _nvidia("h100_pcie", "NVIDIA H100 PCIe 80GB",
            {"float32": 51.0, "tfloat32": 378.0, "bfloat16": 756.0, "float16": 756.0,
             "float8": 1513.0, "int8": 1513.0}, 2000, 80, _H100, "2 TB/s HBM2e"),
    _nvidia("a100_40gb", "NVIDIA A100 SXM 40GB",
            {"float32": 19.5, "tfloat32": 156.0, "bfloat16": 312.0, "float16": 312.0,
             "int8": 624.0}, 1555, 40, _A100),
    _nvidia("a100_80gb", "NVIDIA A100 SXM 80GB",
            {"float32": 19.5, "tfloat32": 156.0, "bfloat16": 312.0, "float16": 312.0,
             "int8": 624.0}, 2039, 80, _A100),
    _nvidia("l4", "NVIDIA L4 24GB",
            {"float32": 30.3, "tfloat32": 60.0, "bfloat16": 121.0, "float16": 121.0,
             "float8": 242.5, "int8": 242.5}, 300, 24, _L4),
    _nvidia("t4", "NVIDIA T4 16GB", {"float32": 8.1, "float16": 65.0, "int8": 130.0}, 320, 16,
            _T4, "Turing: no bfloat16; float16 is the mixed-precision tensor-core peak"),
    _nvidia("rtx_4090", "NVIDIA GeForce RTX 4090 24GB",
            {"float32": 82.6, "bfloat16": 165.2, "float16": 165.2, "float8": 330.3,
             "int8": 660.6}, 1008, 24, _ADA,
            "float16/bfloat16: tensor cores with FP32 accumulate (FP16 accumulate: twice)"),
    _nvidia("tpu_v5e", "Google Cloud TPU v5e (one chip)",
            {"bfloat16": 197.0, "int8": 394.0}, 819, 16, _V5E,
            "TPU v5e lists bf16 and int8 peaks only"),
    DeviceSpec("apple_m2", "Apple M2 (10-core GPU)", {"float32": 3.6 * TERA}, 100 * GB,
               24 * GB, {"peak": _M2, "bandwidth": _M2, "memory": _M2},
               "GPU float32 peak; unified memory, shared with the system"),
    DeviceSpec("apple_m3", "Apple M3 (10-core GPU)", {"float32": 4.1 * TERA}, 100 * GB, 24 * GB,
               {"peak": "estimate: 10 cores x 128 FP32 lanes x 2 FLOP x 1.6 GHz (Apple "
                        "publishes no TFLOPS figure for M3)", "bandwidth": _M3, "memory": _M3},
               "peak is an estimate (see source); unified memory, shared with the system"),
    DeviceSpec("raspberry_pi_5", "Raspberry Pi 5 (Cortex-A76 x4, 16GB)",
               {"float32": 4 * 2.4e9 * 16}, 4267e6 * 4, 16 * GB,
               {"peak": "4 cores x 2.4 GHz x 16 FLOP/cycle (2 x 128-bit FMA pipes, Arm "
                        "Cortex-A76 Software Optimization Guide); " + _PI5,
                "bandwidth": "4267 MT/s x 4 bytes (32-bit LPDDR4X); " + _PI5,
                "memory": _PI5},
               "theoretical CPU peak and DRAM bandwidth, derived from the parts' specs"),
)}
"""Every named device, by id."""

THIS_MACHINE = "this_machine"
"""The id of the profile ``convcost probe`` saved (measured float32 peak and copy bandwidth)."""
