"""Element-wise layers, pooling, merging, resizing: other FLOPs, no MACs (``Dot`` aside).

An activation is 1 FLOP per output element (softmax 3); matrix products without weights
(``Dot``: two activations) are MACs of kind ``attention``.
"""

from __future__ import annotations

from typing import Any

import keras

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    activation_flops,
    axis_size,
    elements,
    other,
    piece,
    register_rule,
    split_channels,
)


@register_rule(keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)
def _activation(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per output element (softmax through ``Activation``: 3)."""
    flops = activation_flops(layer, call.output) if hasattr(layer, "activation") else (
        elements(call.output))
    return (Piece("other", other_flops=flops),)


@register_rule(keras.layers.PReLU)
def _prelu(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Learned leaky ReLU: 1 FLOP per element; one alpha per element, 1 along ``shared_axes``."""
    shape = list(call.input)
    for axis in layer.shared_axes or ():
        shape[axis - 1] = 1
    return other(elements(call.output), params=elements(tuple(shape)))


@register_rule(keras.layers.Softmax)
def _softmax(layer: Any, call: Call) -> tuple[Piece, ...]:
    """exp, sum, divide: 3 FLOPs per element."""
    return (piece("other", f.elementwise(elements(call.output), f.SOFTMAX_FLOPS_PER_ELEMENT)),)


@register_rule(
    keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D,
    keras.layers.AveragePooling1D, keras.layers.AveragePooling2D, keras.layers.AveragePooling3D,
)
def _pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """prod(pool_size) FLOPs per output element (compare or add over the window)."""
    window = int(f.product(tuple(layer.pool_size)))
    return (piece("other", f.elementwise(elements(call.output), window)),)


@register_rule(
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D, keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D, keras.layers.GlobalMaxPooling3D,
)
def _global_pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element."""
    return (piece("other", f.elementwise(elements(call.input))),)


@register_rule(
    keras.layers.AdaptiveAveragePooling1D, keras.layers.AdaptiveAveragePooling2D,
    keras.layers.AdaptiveAveragePooling3D, keras.layers.AdaptiveMaxPooling1D,
    keras.layers.AdaptiveMaxPooling2D, keras.layers.AdaptiveMaxPooling3D,
)
def _adaptive_pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element of each output's bin; bin i of n -> o spans
    [floor(i*n/o), ceil((i+1)*n/o)), so bins may overlap. Summed per dimension, times channels.
    """
    in_spatial, channels = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    visits = f.product([_bin_total(n, o) for n, o in zip(in_spatial, out_spatial)])
    return other(int(visits) * channels)


def _bin_total(n: int, o: int) -> int:
    return sum(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))


@register_rule(
    keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply, keras.layers.Maximum,
    keras.layers.Minimum,
)
def _merge(layer: Any, call: Call) -> tuple[Piece, ...]:
    """n - 1 FLOPs per output element for n inputs."""
    inputs = len(call.inputs)
    return (piece("other", f.elementwise(elements(call.output), inputs - 1)),)


@register_rule(keras.layers.Average)
def _average(layer: Any, call: Call) -> tuple[Piece, ...]:
    """n - 1 additions and one division per output element: n FLOPs."""
    return other(elements(call.output) * len(call.inputs))


@register_rule(keras.layers.Dot)
def _dot(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Batched dot product: MACs = output elements * contracted size; ``normalize`` adds the
    L2 normalization of both inputs (3 FLOPs per input element)."""
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else (layer.axes, layer.axes)
    contracted = axis_size(call.inputs[0], axes[0])
    flops = 3 * sum(elements(s) for s in call.inputs) if layer.normalize else 0
    return (Piece("attention", macs=max(1, elements(call.output)) * contracted,
                  other_flops=flops),)


@register_rule(keras.layers.Masking)
def _masking(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Compare with ``mask_value`` and multiply by the mask: 2 FLOPs per element."""
    return other(2 * elements(call.output))


_INTERPOLATION_FLOPS = {"nearest": 0, "bilinear": 7, "bicubic": 31, "lanczos3": 71,
                        "lanczos5": 199}
"""FLOPs per output element of resizing: 2 * taps - 1 (taps products summed); nearest copies.
Taps: bilinear 2x2, bicubic 4x4, lanczos3 6x6, lanczos5 10x10."""


def _interpolation(layer: Any, call: Call) -> tuple[Piece, ...]:
    method = getattr(layer, "interpolation", "nearest")
    if method == "area":  # each output averages its input region: one add per input element
        return other(elements(call.input))
    if method not in _INTERPOLATION_FLOPS:
        raise ValueError(f"no FLOP count for interpolation {method!r}")
    return other(_INTERPOLATION_FLOPS[method] * elements(call.output))


@register_rule(keras.layers.UpSampling2D, keras.layers.Resizing)
def _resize(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Resizing: ``_INTERPOLATION_FLOPS[interpolation]`` per output element (nearest: 0)."""
    return _interpolation(layer, call)


@register_rule(keras.layers.CenterCrop)
def _center_crop(layer: Any, call: Call) -> tuple[Piece, ...]:
    """A crop is a copy (0); an input smaller than the target is resized bilinearly (7/elt)."""
    in_spatial, _ = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    if all(o <= i for o, i in zip(out_spatial, in_spatial)):
        return other()
    return other(_INTERPOLATION_FLOPS["bilinear"] * elements(call.output))
