"""What ``analyze`` was given, in one value, and the refusal of options a mode does not take."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError


@dataclass(frozen=True)
class AnalyzeArgs:
    """Every option of ``convcost analyze``, as typed (defaults as the command's)."""

    model: str
    input_shape: list[str] | None = None
    seq_len: int | None = None
    alpha: float | None = None
    classes: int | None = None
    no_top: bool = False
    fmt: str = "table"
    group_by: str = "layer"
    batch_size: int | None = None
    flops: bool = False
    depth: int | None = None
    output: Path | None = None
    width: int | None = None
    strict: bool = False
    unsafe: bool = False
    imports: list[str] | None = None
    memory: bool = False
    roofline: bool = False
    dtype: str = "float32"
    peak_gflops: float | None = None
    bandwidth_gbs: float | None = None
    device_profile: Path | None = None
    symbolic: bool = False
    sweep: str | None = None
    plot: Path | None = None
    training: bool = False
    optimizer: str = "adam"
    measure_memory: bool = False
    against: str | None = None
    causal: bool = False
    moe: str = "routed"
    decode: bool = False
    context: int | None = None
    generate: str | None = None
    weight_bits: int | None = None
    kv_bits: int | None = None
    device_id: str | None = None
    efficiency: float | None = None

    @property
    def wants_device(self) -> bool:
        """--roofline, or a device number or profile that implies it."""
        return (self.roofline or self.peak_gflops is not None or self.bandwidth_gbs is not None
                or self.device_profile is not None)

    @property
    def attention(self) -> str:
        return "causal" if self.causal else "executed"


#: Options every mode takes: the model, where and how the output goes, --import.
COMMON = frozenset({"model", "fmt", "output", "width", "imports"})


def given(args: AnalyzeArgs) -> list[str]:
    """The options set to something other than their default, in the command's order."""
    return [field.name for field in dataclasses.fields(args)
            if getattr(args, field.name) not in (field.default, [], ())]


def refuse_others(args: AnalyzeArgs, accepts: frozenset[str], refusal: str) -> None:
    """One-line error for the first option given that the mode does not take; ``refusal``
    words it, with ``{flag}`` for the option."""
    for name in given(args):
        if name not in accepts and name not in COMMON:
            raise ConvcostError(f"{refusal.format(flag=flag(name))}. Received: "
                                f"{flag(name)}{_shown(getattr(args, name))} with "
                                f"{args.model!r}.")


def flag(name: str) -> str:
    """The command-line spelling of an option's field name."""
    return {"fmt": "--format", "imports": "--import", "device_id": "--device"}.get(
        name, "--" + name.replace("_", "-"))


def _shown(value: Any) -> str:
    if value is True:
        return ""
    if isinstance(value, list):
        return " " + " ".join(str(v) for v in value)
    return f" {value}"
