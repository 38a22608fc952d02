"""Keras adapters: read a layer's attributes and call shapes, hand them to a formula.

Dispatch is :func:`functools.singledispatch` on the layer class, so subclasses of built-in
layers use their parent's rule unless a rule is registered for them. A layer whose class has
no rule is *unsupported* (never silently zero); layers that cost nothing on purpose are
listed in :data:`ZERO_COST`.

A rule takes ``(layer, call)`` and returns a tuple of :class:`~convcost.report.Piece`.
Register one for your own layer with :func:`register_rule`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import keras

from convcost import formulas as f
from convcost.report import Piece, Shape


@dataclass(frozen=True)
class Call:
    """The shapes of one call of a layer, batch dimension removed."""

    inputs: tuple[Shape, ...]
    outputs: tuple[Shape, ...]

    @property
    def input(self) -> Shape:
        return self.inputs[0]

    @property
    def output(self) -> Shape:
        return self.outputs[0]


Rule = Callable[[keras.layers.Layer, Call], tuple[Piece, ...]]


class NoRule(Exception):
    """Raised by the fallback: the layer class has no rule."""


@functools.singledispatch
def layer_cost(layer: object, call: Call) -> tuple[Piece, ...]:
    """The pieces of cost of one call of ``layer``; raises :class:`NoRule` if unsupported."""
    raise NoRule(type(layer).__name__)


def register_rule(*layer_classes: type) -> Callable[[Rule], Rule]:
    """Decorator: use the decorated function as the rule for ``layer_classes``.

    Example::

        @convcost.register_rule(MyAttention)
        def _my_attention(layer, call):
            tokens, dim = call.input
            return (Piece("fully_connected", params=layer.count_params(),
                          macs=tokens * dim * dim * 3),)
    """

    def decorate(rule: Rule) -> Rule:
        for cls in layer_classes:
            layer_cost.register(cls)(rule)
        return rule

    return decorate


def supported_layer_classes() -> list[type]:
    """Every class with a rule (including the zero-cost ones), sorted by name."""
    classes = [cls for cls in layer_cost.registry if cls is not object]
    return sorted(classes, key=lambda cls: cls.__name__)


# --- helpers ---------------------------------------------------------------------------------


def elements(shape: Shape) -> int:
    """Number of elements of a shape without batch (all dims must be known)."""
    return int(f.product([int(d) for d in shape if d is not None]))


def split_channels(shape: Shape, data_format: str | None) -> tuple[tuple[int, ...], int]:
    """(spatial sizes, channels) of a feature-map shape."""
    dims = tuple(int(d) for d in shape)  # type: ignore[arg-type]
    if data_format == "channels_first":
        return dims[1:], dims[0]
    return dims[:-1], dims[-1]


def activation_flops(layer: keras.layers.Layer, shape: Shape) -> int:
    """FLOPs of a layer's fused ``activation`` (0 for linear)."""
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", "linear")
    if activation is None or name == "linear":
        return 0
    per_element = f.SOFTMAX_FLOPS_PER_ELEMENT if name == "softmax" else 1
    return elements(shape) * per_element


def conv_kind(kernel: tuple[int, ...], out_spatial: tuple[int, ...]) -> str:
    """'standard' for k>1; a 1x1 conv is 'pointwise' on a map, 'fully_connected' on 1x1."""
    if any(k != 1 for k in kernel):
        return "standard"
    return "pointwise" if f.product(out_spatial) > 1 else "fully_connected"


def piece(kind: str, cost: f.Cost, extra_flops: int = 0) -> Piece:
    return Piece(kind, int(cost.params), int(cost.macs), int(cost.other_flops) + extra_flops)


# --- convolutions ----------------------------------------------------------------------------


@layer_cost.register(keras.layers.Conv1D)
@layer_cost.register(keras.layers.Conv2D)
@layer_cost.register(keras.layers.Conv3D)
def _conv(layer, call: Call) -> tuple[Piece, ...]:
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    kernel = tuple(layer.kernel_size)
    cost = f.conv(kernel, c_in, c_out, out_spatial, groups=layer.groups, bias=layer.use_bias)
    kind = "standard" if layer.groups != 1 else conv_kind(kernel, out_spatial)
    return (piece(kind, cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.Conv1DTranspose)
@layer_cost.register(keras.layers.Conv2DTranspose)
@layer_cost.register(keras.layers.Conv3DTranspose)
def _conv_transpose(layer, call: Call) -> tuple[Piece, ...]:
    in_spatial, c_in = split_channels(call.input, layer.data_format)
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    kernel = tuple(layer.kernel_size)
    cost = f.conv_transpose(kernel, c_in, c_out, in_spatial, out_spatial, bias=layer.use_bias)
    return (piece("standard", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.DepthwiseConv1D)
@layer_cost.register(keras.layers.DepthwiseConv2D)
def _depthwise(layer, call: Call) -> tuple[Piece, ...]:
    out_spatial, _ = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    cost = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                       depth_multiplier=layer.depth_multiplier, bias=layer.use_bias)
    return (piece("depthwise", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.SeparableConv1D)
@layer_cost.register(keras.layers.SeparableConv2D)
def _separable(layer, call: Call) -> tuple[Piece, ...]:
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    multiplier = layer.depth_multiplier
    dw = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                     depth_multiplier=multiplier, bias=False)
    pw = f.pointwise(c_in * multiplier, c_out, out_spatial, bias=layer.use_bias)
    pw_kind = conv_kind((1,), out_spatial)
    return (piece("depthwise", dw), piece(pw_kind, pw, activation_flops(layer, call.output)))


# --- dense and normalization -----------------------------------------------------------------


@layer_cost.register(keras.layers.Dense)
def _dense(layer, call: Call) -> tuple[Piece, ...]:
    units_in = int(call.input[-1])  # type: ignore[arg-type]
    positions = elements(call.input[:-1])
    cost = f.dense(units_in, layer.units, positions=positions, bias=layer.use_bias)
    return (piece("fully_connected", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.BatchNormalization)
def _batch_norm(layer, call: Call) -> tuple[Piece, ...]:
    channels = int(call.input[layer.axis if layer.axis < 0 else layer.axis - 1])  # type: ignore[arg-type]
    cost = f.batch_norm(channels, elements(call.output), center=layer.center, scale=layer.scale)
    return (piece("other", cost),)


# --- element-wise, pooling, merging ----------------------------------------------------------


@layer_cost.register(keras.layers.Activation)
@layer_cost.register(keras.layers.ReLU)
@layer_cost.register(keras.layers.LeakyReLU)
@layer_cost.register(keras.layers.ELU)
def _activation(layer, call: Call) -> tuple[Piece, ...]:
    flops = activation_flops(layer, call.output) if hasattr(layer, "activation") else (
        elements(call.output))
    return (Piece("other", other_flops=flops),)


@layer_cost.register(keras.layers.Softmax)
def _softmax(layer, call: Call) -> tuple[Piece, ...]:
    return (piece("other", f.elementwise(elements(call.output), f.SOFTMAX_FLOPS_PER_ELEMENT)),)


@layer_cost.register(keras.layers.MaxPooling1D)
@layer_cost.register(keras.layers.MaxPooling2D)
@layer_cost.register(keras.layers.MaxPooling3D)
@layer_cost.register(keras.layers.AveragePooling1D)
@layer_cost.register(keras.layers.AveragePooling2D)
@layer_cost.register(keras.layers.AveragePooling3D)
def _pooling(layer, call: Call) -> tuple[Piece, ...]:
    window = int(f.product(tuple(layer.pool_size)))
    return (piece("other", f.elementwise(elements(call.output), window)),)


@layer_cost.register(keras.layers.GlobalAveragePooling1D)
@layer_cost.register(keras.layers.GlobalAveragePooling2D)
@layer_cost.register(keras.layers.GlobalAveragePooling3D)
@layer_cost.register(keras.layers.GlobalMaxPooling1D)
@layer_cost.register(keras.layers.GlobalMaxPooling2D)
@layer_cost.register(keras.layers.GlobalMaxPooling3D)
def _global_pooling(layer, call: Call) -> tuple[Piece, ...]:
    return (piece("other", f.elementwise(elements(call.input))),)


@layer_cost.register(keras.layers.Add)
@layer_cost.register(keras.layers.Subtract)
@layer_cost.register(keras.layers.Multiply)
@layer_cost.register(keras.layers.Average)
@layer_cost.register(keras.layers.Maximum)
@layer_cost.register(keras.layers.Minimum)
def _merge(layer, call: Call) -> tuple[Piece, ...]:
    inputs = len(call.inputs)
    return (piece("other", f.elementwise(elements(call.output), inputs - 1)),)


# --- zero cost on purpose --------------------------------------------------------------------

ZERO_COST: tuple[type, ...] = (
    keras.layers.InputLayer,
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.RepeatVector,
    keras.layers.Concatenate,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    keras.layers.Identity,
    keras.layers.Masking,
)
"""Layers that do no arithmetic at inference (data movement, or training-only noise)."""


@register_rule(*ZERO_COST)
def _zero_cost(layer, call: Call) -> tuple[Piece, ...]:
    return (Piece("other"),)
