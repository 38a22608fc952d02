"""Keras adapters: read a layer's attributes and call shapes, hand them to a formula.

Dispatch is :func:`functools.singledispatch` on the layer class, so subclasses of built-in
layers use their parent's rule unless a rule is registered for them. A layer whose class has
no rule is *unsupported* (never silently zero); layers that cost nothing on purpose are
listed in :data:`ZERO_COST`, and built-in classes that cannot be costed at all in
:data:`NOT_APPLICABLE`, each with its reason.

A rule takes ``(layer, call)`` and returns a tuple of :class:`~convcost.count.report.Piece`.
Register one for your own layer with :func:`register_rule`.

Conventions beyond :mod:`convcost.count.formulas` (per sample; each rule's docstring gives its
formula): an activation is 1 FLOP per output element (softmax 3); a normalization costs its
statistics (2 FLOPs per input element: a sum and a sum of squares) plus 2 per element to
normalize (subtract, scale by 1/std) plus 1 per element for each of scale and shift;
matrix products without weights (attention scores, ``Dot``) are MACs of kind ``other``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import keras

from convcost.count import formulas as f
from convcost.count.report import Piece, Shape

Dims = tuple[int, ...]
"""A fully known shape without batch (the walker refuses unknown sizes before any rule runs)."""


@dataclass(frozen=True)
class Call:
    """The shapes of one call of a layer, batch dimension removed."""

    inputs: tuple[Dims, ...]
    outputs: tuple[Dims, ...]

    @property
    def input(self) -> Dims:
        return self.inputs[0]

    @property
    def output(self) -> Dims:
        return self.outputs[0]


Rule = Callable[[keras.layers.Layer, Call], tuple[Piece, ...]]


class NoRule(Exception):
    """Raised by the fallback: the layer class has no rule."""


@functools.singledispatch
def layer_cost(layer: object, call: Call) -> tuple[Piece, ...]:
    """The pieces of cost of one call of ``layer``; raises :class:`NoRule` if unsupported."""
    raise NoRule(type(layer).__name__)


_FALLBACK = layer_cost.dispatch(object)


def has_rule(layer: object) -> bool:
    """Whether ``layer``'s class (or a parent class) has a rule, zero-cost ones included."""
    return layer_cost.dispatch(type(layer)) is not _FALLBACK


def register_rule(*layer_classes: type) -> Callable[[Rule], Rule]:
    """Decorator: use the decorated function as the rule for ``layer_classes``.

    A rule registered for a class also serves its subclasses, unless they have their own;
    registering for a built-in class (or a subclass of one) overrides the built-in rule.

    Example::

        import convcost
        from convcost.count.report import Piece

        class Scale(keras.layers.Layer):          # y = x * w, one weight per channel
            def build(self, shape):
                self.w = self.add_weight(shape=(shape[-1],))
            def call(self, x):
                return x * self.w

        @convcost.register_rule(Scale)
        def _scale(layer, call):                  # call.input / call.output: shapes, no batch
            channels = call.input[-1]
            elements = math.prod(call.output)
            return (Piece("other", params=channels, other_flops=elements),)
    """

    def decorate(rule: Rule) -> Rule:
        for cls in layer_classes:
            layer_cost.register(cls)(rule)
        return rule

    return decorate


# --- helpers ---------------------------------------------------------------------------------


def elements(shape: Shape) -> int:
    """Number of elements of a shape without batch (all dims must be known)."""
    return int(f.product([int(d) for d in shape if d is not None]))


def split_channels(shape: Dims, data_format: str | None) -> tuple[tuple[int, ...], int]:
    """(spatial sizes, channels) of a feature-map shape."""
    dims = tuple(int(d) for d in shape)
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


def other(flops: int = 0, params: int = 0, macs: int = 0) -> tuple[Piece, ...]:
    """A single piece of kind 'other'."""
    return (Piece("other", params=params, macs=macs, other_flops=flops),)


def repeated(pieces: Sequence[Piece], times: int) -> tuple[Piece, ...]:
    """The pieces of one step, run ``times`` times: MACs and FLOPs scale, params do not."""
    return tuple(replace(p, macs=p.macs * times, other_flops=p.other_flops * times)
                 for p in pieces)


def _axis_size(shape: Dims, axis: int | Sequence[int]) -> int:
    """Product of the sizes at ``axis`` (Keras axes count the batch: axis 1 = shape[0])."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    return int(f.product([int(shape[a - 1 if a > 0 else a]) for a in axes]))


# --- convolutions ----------------------------------------------------------------------------


@layer_cost.register(keras.layers.Conv1D)
@layer_cost.register(keras.layers.Conv2D)
@layer_cost.register(keras.layers.Conv3D)
def _conv(layer, call: Call) -> tuple[Piece, ...]:
    """Grouped N-D conv: k^d * (C_in/groups) * C_out weights, each used at every output position.

    MACs = prod(kernel) * C_in/groups * C_out * prod(out spatial); + C_out bias per position.
    """
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
    """Transposed conv: every input position scatters prod(kernel) * C_in * C_out MACs.

    MACs = prod(kernel) * C_in * C_out * prod(in spatial) (the taps that fall in the cropped
    border are counted too); bias: C_out per output position.
    """
    in_spatial, c_in = split_channels(call.input, layer.data_format)
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    kernel = tuple(layer.kernel_size)
    cost = f.conv_transpose(kernel, c_in, c_out, in_spatial, out_spatial, bias=layer.use_bias)
    return (piece("standard", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.DepthwiseConv1D)
@layer_cost.register(keras.layers.DepthwiseConv2D)
def _depthwise(layer, call: Call) -> tuple[Piece, ...]:
    """Depthwise conv: prod(kernel) * C_in * multiplier weights; MACs = weights * out positions."""
    out_spatial, _ = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    cost = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                       depth_multiplier=layer.depth_multiplier, bias=layer.use_bias)
    return (piece("depthwise", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.SeparableConv1D)
@layer_cost.register(keras.layers.SeparableConv2D)
def _separable(layer, call: Call) -> tuple[Piece, ...]:
    """Separable conv = depthwise (no bias) + pointwise C_in*multiplier -> C_out (with bias)."""
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    multiplier = layer.depth_multiplier
    dw = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                     depth_multiplier=multiplier, bias=False)
    pw = f.pointwise(c_in * multiplier, c_out, out_spatial, bias=layer.use_bias)
    pw_kind = conv_kind((1,), out_spatial)
    return (piece("depthwise", dw), piece(pw_kind, pw, activation_flops(layer, call.output)))


# --- dense, einsum, embedding ----------------------------------------------------------------


@layer_cost.register(keras.layers.Dense)
def _dense(layer, call: Call) -> tuple[Piece, ...]:
    """Dense on the last axis: d_in * units weights, used at every other position."""
    units_in = int(call.input[-1])
    positions = elements(call.input[:-1])
    cost = f.dense(units_in, layer.units, positions=positions, bias=layer.use_bias)
    return (piece("fully_connected", cost, activation_flops(layer, call.output)),)


@layer_cost.register(keras.layers.EinsumDense)
def _einsum_dense(layer, call: Call) -> tuple[Piece, ...]:
    """``einsum(equation, x, kernel)``: MACs = product of the sizes of all distinct indices.

    Index sizes come from the input and output shapes (batch = 1); the kernel holds the
    product of its indices' sizes; the bias (``bias_axes``) one weight per bias index value,
    added once per output element.
    """
    lhs, out_spec = layer.equation.split("->")
    in_spec, kernel_spec = lhs.split(",")
    sizes = _index_sizes(in_spec, (1, *call.input)) | _index_sizes(out_spec, (1, *call.output))
    all_indices = set(in_spec + kernel_spec + out_spec) - {"."}
    macs = int(f.product([sizes[i] for i in all_indices])) * _ellipsis(in_spec, call.input)
    weights = int(f.product([sizes[i] for i in kernel_spec]))
    bias = int(f.product([sizes[i] for i in layer.bias_axes])) if layer.bias_axes else 0
    flops = (elements(call.output) if bias else 0) + activation_flops(layer, call.output)
    return (Piece("fully_connected", params=weights + bias, macs=macs, other_flops=flops),)


def _index_sizes(spec: str, shape: Sequence) -> dict[str, int]:
    """Map each einsum index letter to its size; ``...`` covers the middle dimensions."""
    if "..." in spec:
        head, tail = spec.split("...")
        letters = list(head) + list(tail)
        dims = list(shape[: len(head)]) + list(shape[len(shape) - len(tail):])
    else:
        letters, dims = list(spec), list(shape)
    return {letter: int(d) for letter, d in zip(letters, dims)}


def _ellipsis(spec: str, shape: Shape) -> int:
    """Product of the dimensions an input ``...`` stands for (1 without one)."""
    if "..." not in spec:
        return 1
    head, tail = spec.split("...")
    full = (1, *shape)
    return elements(tuple(full[len(head): len(full) - len(tail)]))


@layer_cost.register(keras.layers.Embedding)
def _embedding(layer, call: Call) -> tuple[Piece, ...]:
    """Embedding: input_dim * output_dim weights; a lookup is a copy (0 FLOPs)."""
    return other(params=int(layer.input_dim) * int(layer.output_dim))


@layer_cost.register(keras.layers.ReversibleEmbedding)
def _reversible_embedding(layer, call: Call) -> tuple[Piece, ...]:
    """ReversibleEmbedding: a lookup forward; ``reverse=True`` is a dense to the vocabulary.

    Params: input_dim * output_dim, twice when ``tie_weights=False``. Reverse call: MACs =
    positions * output_dim * input_dim (told apart by the output's last size).
    """
    vocab, dim = int(layer.input_dim), int(layer.output_dim)
    params = vocab * dim * (1 if layer.tie_weights else 2)
    reverse = call.output[-1] == vocab and call.input[-1] == dim
    if not reverse:
        return other(params=params)
    return (Piece("fully_connected", params=params, macs=elements(call.input[:-1]) * vocab * dim),)


# --- normalization ---------------------------------------------------------------------------


@layer_cost.register(keras.layers.BatchNormalization)
def _batch_norm(layer, call: Call) -> tuple[Piece, ...]:
    """Batch norm: gamma, beta, moving mean and variance per channel; 2 FLOPs per element."""
    channels = _axis_size(call.input, layer.axis)
    cost = f.batch_norm(channels, elements(call.output), center=layer.center, scale=layer.scale)
    return (piece("other", cost),)


def _norm_flops(n: int, *, scale: bool, center: bool) -> int:
    """Statistics (2/elt) + normalize (2/elt) + scale (1/elt) + shift (1/elt)."""
    return n * (4 + int(scale) + int(center))


@layer_cost.register(keras.layers.LayerNormalization)
def _layer_norm(layer, call: Call) -> tuple[Piece, ...]:
    """Layer norm over ``axis``: gamma and beta of the normalized size; (4 + scale + center)/elt.

    ``rms_scaling`` (deprecated) keeps gamma only and skips the mean: 4 FLOPs per element.
    """
    size = _axis_size(call.input, layer.axis)
    rms = bool(getattr(layer, "rms_scaling", False))
    scale, center = layer.scale or rms, layer.center and not rms
    n = elements(call.output)
    flops = 4 * n if rms else _norm_flops(n, scale=scale, center=center)
    return other(flops, params=size * (int(scale) + int(center)))


@layer_cost.register(keras.layers.GroupNormalization)
def _group_norm(layer, call: Call) -> tuple[Piece, ...]:
    """Group norm: gamma and beta per channel; statistics per group: (4 + scale + center)/elt."""
    channels = _axis_size(call.input, layer.axis)
    params = channels * (int(layer.scale) + int(layer.center))
    return other(_norm_flops(elements(call.output), scale=layer.scale, center=layer.center),
                 params=params)


@layer_cost.register(keras.layers.RMSNormalization)
def _rms_norm(layer, call: Call) -> tuple[Piece, ...]:
    """RMS norm: a scale per normalized element; square, sum, times 1/rms, scale: 4 per element."""
    return other(4 * elements(call.output), params=_axis_size(call.input, layer.axis))


@layer_cost.register(keras.layers.UnitNormalization)
def _unit_norm(layer, call: Call) -> tuple[Piece, ...]:
    """x / ||x||: square, sum, divide = 3 FLOPs per element; no weights."""
    return other(3 * elements(call.output))


@layer_cost.register(keras.layers.Normalization)
def _normalization(layer, call: Call) -> tuple[Piece, ...]:
    """(x - mean) / std: 2 FLOPs per element; adapted mean, variance (kept-axis size) and count.

    With ``mean``/``variance`` given as constants the layer holds no weights.
    """
    keep = [a for a in (layer.axis or ())]
    size = _axis_size(call.input, keep) if keep else 1
    params = 2 * size + 1 if getattr(layer, "input_mean", None) is None else 0
    return other(2 * elements(call.output), params=params)


@layer_cost.register(keras.layers.Rescaling)
def _rescaling(layer, call: Call) -> tuple[Piece, ...]:
    """x * scale (+ offset): 1 FLOP per element, 2 with a non-zero offset."""
    offset = layer.offset
    has_offset = not (isinstance(offset, (int, float)) and offset == 0)
    return other(elements(call.output) * (1 + int(has_offset)))


@layer_cost.register(keras.layers.SpectralNormalization)
def _spectral_norm(layer, call: Call) -> tuple[Piece, ...]:
    """At inference the wrapped layer's cost; + a power-iteration vector u (kernel's last size)."""
    inner = layer_cost(layer.layer, call)
    u = int(layer.layer.kernel.shape[-1])
    return (replace(inner[0], params=inner[0].params + u), *inner[1:])


# --- element-wise, pooling, merging ----------------------------------------------------------


@layer_cost.register(keras.layers.Activation)
@layer_cost.register(keras.layers.ReLU)
@layer_cost.register(keras.layers.LeakyReLU)
@layer_cost.register(keras.layers.ELU)
def _activation(layer, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per output element (softmax through ``Activation``: 3)."""
    flops = activation_flops(layer, call.output) if hasattr(layer, "activation") else (
        elements(call.output))
    return (Piece("other", other_flops=flops),)


@layer_cost.register(keras.layers.PReLU)
def _prelu(layer, call: Call) -> tuple[Piece, ...]:
    """Learned leaky ReLU: 1 FLOP per element; one alpha per element, 1 along ``shared_axes``."""
    shape = list(call.input)
    for axis in layer.shared_axes or ():
        shape[axis - 1] = 1
    return other(elements(call.output), params=elements(tuple(shape)))


@layer_cost.register(keras.layers.Softmax)
def _softmax(layer, call: Call) -> tuple[Piece, ...]:
    """exp, sum, divide: 3 FLOPs per element."""
    return (piece("other", f.elementwise(elements(call.output), f.SOFTMAX_FLOPS_PER_ELEMENT)),)


@layer_cost.register(keras.layers.MaxPooling1D)
@layer_cost.register(keras.layers.MaxPooling2D)
@layer_cost.register(keras.layers.MaxPooling3D)
@layer_cost.register(keras.layers.AveragePooling1D)
@layer_cost.register(keras.layers.AveragePooling2D)
@layer_cost.register(keras.layers.AveragePooling3D)
def _pooling(layer, call: Call) -> tuple[Piece, ...]:
    """prod(pool_size) FLOPs per output element (compare or add over the window)."""
    window = int(f.product(tuple(layer.pool_size)))
    return (piece("other", f.elementwise(elements(call.output), window)),)


@layer_cost.register(keras.layers.GlobalAveragePooling1D)
@layer_cost.register(keras.layers.GlobalAveragePooling2D)
@layer_cost.register(keras.layers.GlobalAveragePooling3D)
@layer_cost.register(keras.layers.GlobalMaxPooling1D)
@layer_cost.register(keras.layers.GlobalMaxPooling2D)
@layer_cost.register(keras.layers.GlobalMaxPooling3D)
def _global_pooling(layer, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element."""
    return (piece("other", f.elementwise(elements(call.input))),)


@layer_cost.register(keras.layers.AdaptiveAveragePooling1D)
@layer_cost.register(keras.layers.AdaptiveAveragePooling2D)
@layer_cost.register(keras.layers.AdaptiveAveragePooling3D)
@layer_cost.register(keras.layers.AdaptiveMaxPooling1D)
@layer_cost.register(keras.layers.AdaptiveMaxPooling2D)
@layer_cost.register(keras.layers.AdaptiveMaxPooling3D)
def _adaptive_pooling(layer, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element of each output's bin; bin i of n -> o spans
    [floor(i*n/o), ceil((i+1)*n/o)), so bins may overlap. Summed per dimension, times channels.
    """
    in_spatial, channels = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    visits = f.product([_bin_total(n, o) for n, o in zip(in_spatial, out_spatial)])
    return other(int(visits) * channels)


def _bin_total(n: int, o: int) -> int:
    return sum(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))


@layer_cost.register(keras.layers.Add)
@layer_cost.register(keras.layers.Subtract)
@layer_cost.register(keras.layers.Multiply)
@layer_cost.register(keras.layers.Maximum)
@layer_cost.register(keras.layers.Minimum)
def _merge(layer, call: Call) -> tuple[Piece, ...]:
    """n - 1 FLOPs per output element for n inputs."""
    inputs = len(call.inputs)
    return (piece("other", f.elementwise(elements(call.output), inputs - 1)),)


@layer_cost.register(keras.layers.Average)
def _average(layer, call: Call) -> tuple[Piece, ...]:
    """n - 1 additions and one division per output element: n FLOPs."""
    return other(elements(call.output) * len(call.inputs))


@layer_cost.register(keras.layers.Dot)
def _dot(layer, call: Call) -> tuple[Piece, ...]:
    """Batched dot product: MACs = output elements * contracted size; ``normalize`` adds the
    L2 normalization of both inputs (3 FLOPs per input element)."""
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else (layer.axes, layer.axes)
    contracted = _axis_size(call.inputs[0], axes[0])
    flops = 3 * sum(elements(s) for s in call.inputs) if layer.normalize else 0
    return other(flops, macs=max(1, elements(call.output)) * contracted)


@layer_cost.register(keras.layers.Masking)
def _masking(layer, call: Call) -> tuple[Piece, ...]:
    """Compare with ``mask_value`` and multiply by the mask: 2 FLOPs per element."""
    return other(2 * elements(call.output))


_INTERPOLATION_FLOPS = {"nearest": 0, "bilinear": 7, "bicubic": 31, "lanczos3": 71,
                        "lanczos5": 199}
"""FLOPs per output element of resizing: 2 * taps - 1 (taps products summed); nearest copies.
Taps: bilinear 2x2, bicubic 4x4, lanczos3 6x6, lanczos5 10x10."""


def _interpolation(layer, call: Call) -> tuple[Piece, ...]:
    method = getattr(layer, "interpolation", "nearest")
    if method == "area":  # each output averages its input region: one add per input element
        return other(elements(call.input))
    if method not in _INTERPOLATION_FLOPS:
        raise ValueError(f"no FLOP count for interpolation {method!r}")
    return other(_INTERPOLATION_FLOPS[method] * elements(call.output))


@layer_cost.register(keras.layers.UpSampling2D)
@layer_cost.register(keras.layers.Resizing)
def _resize(layer, call: Call) -> tuple[Piece, ...]:
    """Resizing: ``_INTERPOLATION_FLOPS[interpolation]`` per output element (nearest: 0)."""
    return _interpolation(layer, call)


@layer_cost.register(keras.layers.CenterCrop)
def _center_crop(layer, call: Call) -> tuple[Piece, ...]:
    """A crop is a copy (0); an input smaller than the target is resized bilinearly (7/elt)."""
    in_spatial, _ = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    if all(o <= i for o, i in zip(out_spatial, in_spatial)):
        return other()
    return other(_INTERPOLATION_FLOPS["bilinear"] * elements(call.output))


# --- attention -------------------------------------------------------------------------------


def _attention_core(heads: int, queries: int, keys: int, key_dim: int, value_dim: int,
                    rows: int = 1) -> Piece:
    """Scaled dot-product attention without projections, for ``heads`` heads.

    MACs: scores ``T*S*key_dim`` + context ``T*S*value_dim`` per head; FLOPs: query scaling
    ``T*key_dim`` and softmax ``3*T*S`` per head. ``rows`` repeats it over non-attended axes.
    """
    macs = heads * queries * keys * (key_dim + value_dim)
    flops = heads * (queries * key_dim + f.SOFTMAX_FLOPS_PER_ELEMENT * queries * keys)
    return Piece("other", macs=rows * macs, other_flops=rows * flops)


def _projection(d_in: int, heads: int, size: int, positions: int, bias: bool) -> Piece:
    cost = f.dense(d_in, heads * size, positions=positions, bias=bias)
    return piece("fully_connected", cost)


@layer_cost.register(keras.layers.MultiHeadAttention)
def _multi_head_attention(layer, call: Call) -> tuple[Piece, ...]:
    """Keras MHA, called as ``(query, value[, key])``: Q, K, V projections to
    ``num_heads x key_dim`` (V: ``value_dim``), dot-product attention per head, output
    projection back to ``output_shape`` (default: query's last size), optional sigmoid gate
    (``use_gate``: one more projection of the query and a product). T = query positions,
    S = value positions (attention over all non-batch axes but the last)."""
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) > 2 else value
    heads, kd = int(layer.num_heads), int(layer.key_dim)
    vd = int(layer.value_dim or kd)
    t, s, bias = elements(query[:-1]), elements(value[:-1]), layer.use_bias
    d_out = int(call.output[-1])
    pieces = [_projection(int(query[-1]), heads, kd, t, bias),
              _projection(int(key[-1]), heads, kd, s, bias),
              _projection(int(value[-1]), heads, vd, s, bias),
              _attention_core(heads, t, s, kd, vd),
              piece("fully_connected", f.dense(heads * vd, d_out, positions=t, bias=bias))]
    if getattr(layer, "_use_gate", False):
        gate = _projection(int(query[-1]), heads, vd, t, bias)
        pieces.append(replace(gate, other_flops=gate.other_flops + 2 * t * heads * vd))
    return tuple(pieces)


@layer_cost.register(keras.layers.GroupQueryAttention)
def _group_query_attention(layer, call: Call) -> tuple[Piece, ...]:
    """Grouped-query attention: Q to ``num_query_heads x head_dim``; K and V to
    ``num_key_value_heads x head_dim`` (then repeated, a copy); attention per query head;
    output projection to the query's size; optional gate as in :func:`_multi_head_attention`."""
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) > 2 else value
    qh, kvh, hd = int(layer.num_query_heads), int(layer.num_key_value_heads), int(layer.head_dim)
    t, s, bias = elements(query[:-1]), elements(value[:-1]), layer.use_bias
    pieces = [_projection(int(query[-1]), qh, hd, t, bias),
              _projection(int(key[-1]), kvh, hd, s, bias),
              _projection(int(value[-1]), kvh, hd, s, bias),
              _attention_core(qh, t, s, hd, hd),
              piece("fully_connected", f.dense(qh * hd, int(call.output[-1]), positions=t,
                                               bias=bias))]
    if layer.use_gate:
        gate = _projection(int(query[-1]), qh, hd, t, bias)
        pieces.append(replace(gate, other_flops=gate.other_flops + 2 * t * qh * hd))
    return tuple(pieces)


@layer_cost.register(keras.layers.Attention)
def _attention(layer, call: Call) -> tuple[Piece, ...]:
    """Luong attention on ``[query (Tq, d), value (Tv, dv), key (Tv, d)]``, no projections.

    ``score_mode='dot'``: Tq*Tv*d MACs (+ Tq*Tv with ``use_scale``); ``'concat'``: tanh(q + k)
    summed, 3*Tq*Tv*d FLOPs (4 with scale). Then softmax (3*Tq*Tv) and Tq*Tv*dv MACs.
    Weights: a scalar scale (``use_scale``), a scalar concat weight (``'concat'``).
    """
    query, value = call.inputs[0], call.inputs[1]
    tq, tv, d, dv = elements(query[:-1]), elements(value[:-1]), int(query[-1]), int(value[-1])
    scale = bool(layer.use_scale)
    params = int(scale) + int(layer.score_mode == "concat")
    if layer.score_mode == "dot":
        macs, flops = tq * tv * d, tq * tv * int(scale)
    else:
        macs, flops = 0, tq * tv * d * (3 + int(scale)) + tq * tv
    flops += f.SOFTMAX_FLOPS_PER_ELEMENT * tq * tv
    return other(flops, params=params, macs=macs + tq * tv * dv)


@layer_cost.register(keras.layers.AdditiveAttention)
def _additive_attention(layer, call: Call) -> tuple[Piece, ...]:
    """Bahdanau attention: scores = sum(scale * tanh(q + k)) over d, element-wise (no MACs):
    add, tanh, sum (+ multiply with ``use_scale``, d weights) = (3 + scale) FLOPs per
    (Tq, Tv, d) triple; then softmax (3*Tq*Tv) and Tq*Tv*dv MACs for the context."""
    query, value = call.inputs[0], call.inputs[1]
    tq, tv, d, dv = elements(query[:-1]), elements(value[:-1]), int(query[-1]), int(value[-1])
    scale = bool(layer.use_scale)
    flops = tq * tv * d * (3 + int(scale)) + f.SOFTMAX_FLOPS_PER_ELEMENT * tq * tv
    return other(flops, params=d if scale else 0, macs=tq * tv * dv)


# --- recurrent -------------------------------------------------------------------------------


@layer_cost.register(keras.layers.SimpleRNNCell)
def _simple_rnn_cell(layer, call: Call) -> tuple[Piece, ...]:
    """One step of h = act(x W + h U + b): MACs u*(d + u); FLOPs: bias u, add u, act u."""
    d, u = int(call.input[-1]), int(layer.units)
    bias = layer.use_bias
    return (Piece("fully_connected", params=u * (d + u) + (u if bias else 0), macs=u * (d + u),
                  other_flops=u * (2 + int(bias))),)


@layer_cost.register(keras.layers.LSTMCell)
def _lstm_cell(layer, call: Call) -> tuple[Piece, ...]:
    """One LSTM step, 4 gates (i, f, c~, o): z = x W + h U + b, W: d x 4u, U: u x 4u.

    MACs 4u*(d + u). FLOPs: bias 4u, add 4u, gate activations 4u (3 sigmoid, 1 tanh),
    c = f*c + i*c~ 3u, h = o * tanh(c) 2u: 17u with bias, 13u without.
    """
    d, u = int(call.input[-1]), int(layer.units)
    bias = layer.use_bias
    return (Piece("fully_connected", params=4 * u * (d + u) + (4 * u if bias else 0),
                  macs=4 * u * (d + u), other_flops=u * (13 + 4 * int(bias))),)


@layer_cost.register(keras.layers.GRUCell)
def _gru_cell(layer, call: Call) -> tuple[Piece, ...]:
    """One GRU step, 3 gates (z, r, h~): W: d x 3u, U: u x 3u, MACs 3u*(d + u).

    ``reset_after=True`` (Keras default): two biases (input and recurrent, 6u weights),
    h~ = tanh(x W_h + r * (h U_h + b_h)); ``False``: one bias (3u), h~ = tanh(x W_h + (r*h) U_h).
    FLOPs: biases (6u or 3u), z and r pre-activation adds 2u, h~ add u and reset product u,
    activations 3u, h = z*h + (1-z)*h~ 4u.
    """
    d, u = int(call.input[-1]), int(layer.units)
    biases = (2 if layer.reset_after else 1) * 3 * u if layer.use_bias else 0
    return (Piece("fully_connected", params=3 * u * (d + u) + biases, macs=3 * u * (d + u),
                  other_flops=biases + 11 * u),)


@layer_cost.register(keras.layers.StackedRNNCells)
def _stacked_cells(layer, call: Call) -> tuple[Piece, ...]:
    """Each cell on the previous one's output."""
    pieces: list[Piece] = []
    size = call.input
    for cell in layer.cells:
        out = (*size[:-1], _cell_units(cell))
        pieces.extend(layer_cost(cell, Call((size,), (out,))))
        size = out
    return tuple(pieces)


def _cell_units(cell) -> int:
    size = getattr(cell, "output_size", None) or getattr(cell, "units", None)
    if size is None:
        raise ValueError(f"cannot tell the output size of cell {type(cell).__name__}")
    return int(size)


@layer_cost.register(keras.layers.RNN)
def _rnn(layer, call: Call) -> tuple[Piece, ...]:
    """Sequence layer (SimpleRNN, LSTM, GRU, ConvLSTM, RNN(cell)): the cell's cost for one
    step, times the sequence length (the input's first axis)."""
    steps, step_in = int(call.input[0]), call.input[1:]
    step_out = call.output[1:] if layer.return_sequences else call.output
    return repeated(layer_cost(layer.cell, Call((step_in,), (step_out,))), steps)


def _conv_lstm_cell(layer, call: Call) -> tuple[Piece, ...]:
    """One ConvLSTM step: the input conv (layer's strides/padding) to 4*filters and the
    recurrent 'same' conv filters -> 4*filters, both with the layer's kernel, at the output
    positions; then the LSTM gate arithmetic (17 or 13 FLOPs per output element)."""
    out_spatial, filters = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    kernel = tuple(layer.kernel_size)
    x = f.conv(kernel, c_in, 4 * filters, out_spatial, bias=layer.use_bias)
    h = f.conv(kernel, filters, 4 * filters, out_spatial, bias=False)
    positions = int(f.product(out_spatial))
    gates = positions * filters * (13 + 4 * int(layer.use_bias))
    return (Piece("standard", params=int(x.params + h.params), macs=int(x.macs + h.macs),
                  other_flops=gates),)


def _register_conv_lstm_cell() -> None:
    from keras.src.layers.rnn.conv_lstm import ConvLSTMCell

    layer_cost.register(ConvLSTMCell)(_conv_lstm_cell)


_register_conv_lstm_cell()


@layer_cost.register(keras.layers.Bidirectional)
def _bidirectional(layer, call: Call) -> tuple[Piece, ...]:
    """Forward and backward layers on the same input; merge: concat 0, sum/mul 1, ave 2 FLOPs
    per output element."""
    out = call.output
    if layer.merge_mode == "concat":
        out = (*out[:-1], int(out[-1]) // 2)
    one = Call(call.inputs[:1], (out,))
    pieces = layer_cost(layer.forward_layer, one) + layer_cost(layer.backward_layer, one)
    merge = {"sum": 1, "mul": 1, "ave": 2}.get(layer.merge_mode or "", 0)
    return (*pieces, *other(merge * elements(call.output)))


@layer_cost.register(keras.layers.TimeDistributed)
def _time_distributed(layer, call: Call) -> tuple[Piece, ...]:
    """The wrapped layer's cost on one time step, times the steps (the first axis)."""
    steps = int(call.input[0])
    step = Call(tuple(s[1:] for s in call.inputs), tuple(s[1:] for s in call.outputs))
    return repeated(layer_cost(layer.layer, step), steps)


# --- keras.applications' own layers ----------------------------------------------------------


def _layer_scale(layer, call: Call) -> tuple[Piece, ...]:
    """ConvNeXt's LayerScale: x * gamma, one gamma per channel; 1 FLOP per element."""
    return other(elements(call.output), params=int(layer.projection_dim))


def _custom_scale(layer, call: Call) -> tuple[Piece, ...]:
    """Inception-ResNet-v2's CustomScaleLayer: x + r * scale, 2 FLOPs per element."""
    return other(2 * elements(call.output))


def _register_application_layers() -> None:
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    layer_cost.register(LayerScale)(_layer_scale)
    layer_cost.register(CustomScaleLayer)(_custom_scale)


_register_application_layers()


# --- keras.ops operations in functional graphs (x + y, ops.relu(x), ...) ---------------------


def _ops(module_name: str, names: str) -> tuple[type, ...]:
    """The named operation classes of ``keras.src.ops.<module>`` that this Keras has."""
    import importlib

    module = importlib.import_module(f"keras.src.ops.{module_name}")
    return tuple(getattr(module, n) for n in names.split() if hasattr(module, n))


ELEMENTWISE_OPS = (
    _ops("numpy", "Abs Absolute Add Subtract Multiply Divide TrueDivide DivideNoNan FloorDivide "
         "Maximum Minimum Power Negative Sqrt Square Exp Log Log1p Expm1 Tanh Sin Cos "
         "Reciprocal Clip Sign Floor Ceil Round Mod Where")
    + _ops("nn", "Relu Relu6 Sigmoid HardSigmoid Silu HardSilu Gelu Elu Selu LeakyRelu "
           "Softplus Softsign Celu HardTanh LogSigmoid")
    + _ops("math", "Rsqrt Erf")
)
"""keras.ops applied element by element: 1 FLOP per output element."""


@register_rule(*ELEMENTWISE_OPS)
def _elementwise_op(op, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per output element."""
    return other(elements(call.output))


@register_rule(*_ops("nn", "Softmax LogSoftmax"))
def _softmax_op(op, call: Call) -> tuple[Piece, ...]:
    """3 FLOPs per element."""
    return other(f.SOFTMAX_FLOPS_PER_ELEMENT * elements(call.output))


@register_rule(*_ops("numpy", "Mean Sum Max Min Prod Amax Amin"))
def _reduction_op(op, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element."""
    return other(elements(call.input))


@register_rule(*_ops("numpy", "Matmul"))
def _matmul_op(op, call: Call) -> tuple[Piece, ...]:
    """a @ b: MACs = output elements * contracted size (a's last axis)."""
    return other(macs=elements(call.output) * int(call.inputs[0][-1]))


# --- zero cost on purpose --------------------------------------------------------------------

ZERO_COST: tuple[type, ...] = (
    # data movement and bookkeeping
    keras.layers.InputLayer,
    keras.layers.Identity,
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
    keras.layers.UpSampling1D,  # nearest neighbour only: a copy
    keras.layers.UpSampling3D,  # nearest neighbour only: a copy
    keras.layers.CategoryEncoding,  # one-hot / multi-hot: writes ones, no arithmetic
    # regularization and noise: identity at inference
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    # random augmentation: identity at inference (training=False)
    keras.layers.AugMix,
    keras.layers.CutMix,
    keras.layers.MixUp,
    keras.layers.RandAugment,
    keras.layers.RandomBrightness,
    keras.layers.RandomColorDegeneration,
    keras.layers.RandomColorJitter,
    keras.layers.RandomContrast,
    keras.layers.RandomCrop,
    keras.layers.RandomElasticTransform,
    keras.layers.RandomErasing,
    keras.layers.RandomFlip,
    keras.layers.RandomGaussianBlur,
    keras.layers.RandomGrayscale,
    keras.layers.RandomHue,
    keras.layers.RandomInvert,
    keras.layers.RandomPerspective,
    keras.layers.RandomPosterization,
    keras.layers.RandomRotation,
    keras.layers.RandomSaturation,
    keras.layers.RandomSharpness,
    keras.layers.RandomShear,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
    # keras.ops that only move data
    *_ops("numpy", "Reshape Transpose ExpandDims Squeeze Concatenate Stack GetItem Pad Tile "
          "Repeat BroadcastTo Split Flip Moveaxis Swapaxes Ravel Copy Roll ZerosLike OnesLike"),
    *_ops("core", "Cast Slice ConvertToTensor StopGradient"),
)
"""Layers and operations that do no arithmetic at inference (data movement, or training-only
noise and augmentation); each still gets a row, with 0 MACs and 0 FLOPs."""


@register_rule(*ZERO_COST)
def _zero_cost(layer, call: Call) -> tuple[Piece, ...]:
    return (Piece("other"),)


NOT_APPLICABLE: dict[str, str] = {
    "Layer": "abstract base class; a subclass is costed by its own rule or reported unsupported",
    "Wrapper": "abstract base of Bidirectional, TimeDistributed, SpectralNormalization",
    "Lambda": "arbitrary Python function: reported unsupported (register a rule for a subclass)",
    "TFSMLayer": "opaque TensorFlow SavedModel: reported unsupported",
    "JaxLayer": "opaque JAX function: reported unsupported",
    "FlaxLayer": "opaque Flax module: reported unsupported",
    "TorchModuleWrapper": "opaque PyTorch module: reported unsupported",
    "Pipeline": "a container of preprocessing layers: traced into its layers like any layer "
                "without a rule that holds sub-layers",
    "Discretization": "lookup (bucketize by comparisons), no floating-point arithmetic counted",
    "Hashing": "lookup (string/integer hashing), no floating-point arithmetic",
    "HashedCrossing": "lookup (feature crossing by hashing), no floating-point arithmetic",
    "IntegerLookup": "lookup table (vocabulary), no floating-point arithmetic",
    "StringLookup": "lookup table (vocabulary), no floating-point arithmetic",
    "TextVectorization": "string processing and lookup, no floating-point arithmetic",
    "MelSpectrogram": "FFT-based signal preprocessing; FFT cost not modelled",
    "STFTSpectrogram": "FFT-based signal preprocessing; FFT cost not modelled",
    "AutoContrast": "data-dependent image processing (per-image min/max), not modelled",
    "Equalization": "data-dependent image processing (histograms), not modelled",
    "ContrastLimitedAdaptiveHistogramEqualization": "data-dependent histogram processing, "
                                                    "not modelled",
    "Solarization": "data-dependent image thresholding, not modelled",
    "MaxNumBoundingBoxes": "bounding-box bookkeeping for detection data, not image arithmetic",
}
"""Built-in ``keras.layers`` classes with no rule, on purpose, and why. Models using them get
an unsupported row (never a silent zero)."""
