"""The device profile a command uses (``analyze --roofline``, ``profile``): a file, numbers the
user typed, the saved one, or, on a machine with none saved yet, this machine measured once
as ``convcost probe`` would measure it, and saved."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.cli.app import load_keras, stderr

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile

# The sizes `convcost probe` uses by default (tests make them small).
AUTO_PROBE: dict[str, Any] = {"matmul_size": 2048, "copy_mb": 256, "repeats": 5}


def device_or_probe(peak_gflops: float | None = None, bandwidth_gbs: float | None = None,
                    profile_file: Path | None = None) -> DeviceProfile:
    """The device profile to use; without any, measure this machine once and save it.

    Says on stderr what it measures and where it saved the profile. Numbers the user typed
    still override the measured ones.
    """
    from convcost.analysis import devices
    from convcost.analysis.roofline import GIGA
    from convcost.measure.probe import probe

    found = devices.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                            profile_file=profile_file, required=False)
    if found is not None:
        return found
    target = devices.default_profile_path()
    stderr.print("note: no device profile saved yet; measuring this machine once (a matmul "
                 "and a copy, a few seconds), as 'convcost probe' does", markup=False)
    load_keras()
    measured = probe(**AUTO_PROBE)
    devices.save_profile(measured, target)
    stderr.print(f"note: saved the device profile to {target} ({measured.peak_flops / GIGA:.1f}"
                 f" GFLOP/s, {measured.bandwidth / GIGA:.1f} GB/s); 'convcost probe' measures "
                 "it again", markup=False)
    return devices.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                           profile_file=target) or measured
