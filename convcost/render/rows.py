"""Displayed rows: one per layer call, or one per nested-model call folded by ``depth``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcost.count.report import KINDS, LayerCost, Report, Shape
from convcost.errors import ConvcostError


@dataclass(frozen=True)
class Row:
    """A displayed row: one layer call, or the aggregate of rows folded by ``depth``."""

    path: str
    name: str
    type: str
    kind: str
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    keras_params: int
    macs: int
    other_flops: int
    supported: bool
    call_index: int = 0
    folded: int = 0
    note: str = ""
    from_ops: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops



def rows(report: Report, depth: int | None = None) -> tuple[Row, ...]:
    """The report's rows; with ``depth``, rows deeper than it folded into one row per call.

    Consecutive rows under the same folded path form one call of that nested model; a leaf
    path seen again starts the next call (a block applied twice gives two folded rows). The
    row of a container's own arithmetic (a keras-hub block: path ``a/b`` with rows ``a/b/...``
    below it) folds with its sub-layers when the fold is at its path.
    """
    if depth is not None and depth < 0:
        raise ConvcostError(f"depth must be 0 or more. Received: {depth}.")
    containers = _containers(report.layers, depth)
    result: list[Row] = []
    chunk: list[LayerCost] = []
    chunk_path = ""
    for layer in report.layers:
        target = _folded_path(layer.path, depth)
        repeated = any(x.path == layer.path for x in chunk)
        if chunk and (target != chunk_path or repeated):
            result.append(_fold(chunk, chunk_path))
            chunk = []
        if target == layer.path and layer.path not in containers:
            result.append(_leaf(layer))
        else:
            chunk, chunk_path = [*chunk, layer], target
    if chunk:
        result.append(_fold(chunk, chunk_path))
    return tuple(result)


def _containers(layers: Sequence[LayerCost], depth: int | None) -> set[str]:
    """Paths at exactly ``depth`` that have rows below them (their own row folds with those)."""
    if depth is None:
        return set()
    below = {"/".join(x.path.split("/")[: depth + 1]) for x in layers
             if x.path.count("/") > depth}
    return {x.path for x in layers if x.path in below}


def _folded_path(path: str, depth: int | None) -> str:
    parts = path.split("/")
    return path if depth is None or len(parts) <= depth + 1 else "/".join(parts[: depth + 1])


def _leaf(layer: LayerCost) -> Row:
    return Row(layer.path, layer.name, layer.type, layer.kind, layer.input_shapes,
               layer.output_shape, layer.params, layer.keras_params, layer.macs,
               layer.other_flops, layer.supported, layer.call_index, 0, layer.note,
               layer.from_ops)


def _fold(chunk: Sequence[LayerCost], path: str) -> Row:
    kind_macs = {kind: 0 for kind in KINDS}
    for layer in chunk:
        for piece in layer.pieces:
            kind_macs[piece.kind] += piece.macs
    kind = max(kind_macs, key=lambda k: kind_macs[k]) if any(kind_macs.values()) else "other"
    return Row(path, path.rsplit("/", 1)[-1], "folded", kind, chunk[0].input_shapes,
               chunk[-1].output_shape, sum(x.params for x in chunk),
               sum(x.keras_params for x in chunk), sum(x.macs for x in chunk),
               sum(x.other_flops for x in chunk), all(x.supported for x in chunk),
               0, len(chunk), f"{len(chunk)} layer calls folded",
               any(x.from_ops for x in chunk))


