"""Device profiles on disk: where ``convcost probe`` saves one, reading it back, and choosing
the profile a command uses (a file, the saved default, or numbers the user typed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from convcost import checks
from convcost.analysis.roofline import GIGA, DeviceProfile, from_user
from convcost.errors import ConvcostError
from convcost.files import read_json, write_text


def default_profile_path() -> Path:
    """``$XDG_CONFIG_HOME/convcost/device.json``, by default ``~/.config/convcost/device.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "convcost" / "device.json"


def save_profile(profile: DeviceProfile, path: str | Path) -> Path:
    """Write ``profile`` as JSON, atomically (temp file in the same folder, then replace)."""
    target = Path(path).expanduser()
    text = json.dumps(profile.to_dict(), indent=2) + "\n"
    write_text(target, text, make_parents=True)
    return target


MAX_PROFILE_BYTES = 1 << 20  # a profile is a few hundred bytes of JSON


def load_profile(path: str | Path) -> DeviceProfile:
    """Read a profile written by :func:`save_profile` (or by hand: the two numbers suffice).

    The file needs ``peak_flops`` (FLOP/s) and ``bandwidth`` (bytes/s), or ``peak_gflops`` and
    ``bandwidth_gbs``. A missing, unreadable or malformed file is a one-line ConvcostError.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise ConvcostError(f"Device profile not found; run 'convcost probe' to make one. "
                            f"Received: {str(file)!r}.")
    data = read_json(file, what="device profile", max_bytes=MAX_PROFILE_BYTES)
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
    try:
        return checks.positive(key, value) * scale
    except ConvcostError:
        raise ConvcostError(f"The device profile needs a positive number {key!r} (or "
                            f"{giga_key!r}). Received: {value!r} in {str(file)!r}.") from None


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
        if value is not None:
            checks.positive(option, value, shown=str(value))
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


