"""The rule table: singledispatch on the layer class, the :class:`Call` shapes, helpers.

Dispatch is :func:`functools.singledispatch` on the layer class, so subclasses of built-in
layers use their parent's rule unless a rule is registered for them. A layer whose class has
no rule is *unsupported* (never silently zero). A rule takes ``(layer, call)`` and returns a
tuple of :class:`~convcost.count.report.Piece`; it is registered with :func:`register_rule`,
the one registration form (built-in rules use it too).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import keras

from convcost.count import formulas as f
from convcost.count.report import Piece, Shape
from convcost.count.shapes import elements
from convcost.errors import ConvcostError

Dims = tuple[int, ...]
"""A fully known shape without batch (the walker refuses unknown sizes before any rule runs)."""


@dataclass(frozen=True)
class Call:
    """The shapes of one call of a layer, batch dimension removed.

    ``inputs`` are the tensor arguments in the order of the layer's ``call`` signature (masks,
    caches and indices left out), so ``mha(query=q, value=v)`` arrives as ``(q, v)``.
    ``causal``: the call is the self-attention of a causal decoder (or was given
    ``use_causal_mask=True``), with a sliding ``window`` if it has one; attention rules use it
    for their ``"causal"`` variant. ``cache``: the shape of the key/value cache the call reads
    (keras-hub's cached attention, ``(2, keys, heads, head_dim)``), or None without one.
    """

    inputs: tuple[Dims, ...]
    outputs: tuple[Dims, ...]
    causal: bool = False
    window: int | None = None
    cache: Dims | None = None

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

    bad = [cls for cls in layer_classes if not isinstance(cls, type)]
    if bad or not layer_classes:
        raise ConvcostError(f"register_rule() takes layer classes (e.g. keras.layers.Dense). "
                            f"Received: {repr(bad[0]) if bad else 'no class'}.")

    def decorate(rule: Rule) -> Rule:
        if not callable(rule):
            raise ConvcostError(f"register_rule(...) decorates a function (layer, call) -> "
                                f"pieces. Received: {type(rule).__name__}.")
        for cls in layer_classes:
            layer_cost.register(cls)(rule)
        return rule

    return decorate


# --- causal self-attention ------------------------------------------------------------------

CausalCheck = Callable[[Any, dict[str, Any], Any], tuple[bool, int | None]]
"""``(decoder, its call's options, the sub-layer called) -> (causal, window)``."""

_CAUSAL: dict[type, CausalCheck] = {}


def register_causal(*decoder_classes: type) -> Callable[[CausalCheck], CausalCheck]:
    """Decorator: the function tells which sub-layer of these decoder blocks is causal
    self-attention, and its sliding window (see :func:`causal_context`)."""

    def decorate(check: CausalCheck) -> CausalCheck:
        for cls in decoder_classes:
            _CAUSAL[cls] = check
        return check

    return decorate


def causal_context(parent: Any, parent_options: dict[str, Any], layer: Any,
                   options: dict[str, Any]) -> tuple[bool, int | None]:
    """Whether a call of ``layer`` is causal self-attention, and its window: it was given
    ``use_causal_mask=True``, or it is the self-attention of a decoder block registered with
    :func:`register_causal` (``parent``, called with ``parent_options``)."""
    if options.get("use_causal_mask") is True:
        return True, None
    for cls in type(parent).__mro__ if parent is not None else ():
        if cls in _CAUSAL:
            return _CAUSAL[cls](parent, parent_options, layer)
    return False, None


# --- helpers ---------------------------------------------------------------------------------


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


def causal_share(call: Call, queries: int, keys: int) -> tuple[int, int] | None:
    """(allowed pairs, all pairs) when ``call`` is causal self-attention over ``queries`` ==
    ``keys`` positions (:func:`~convcost.count.formulas.causal_pairs`); None otherwise."""
    if not call.causal or queries != keys or queries == 0:
        return None
    return f.causal_pairs(queries, call.window), queries * keys


def piece(kind: str, cost: f.Cost, extra_flops: int = 0) -> Piece:
    return Piece(kind, int(cost.params), int(cost.macs), int(cost.other_flops) + extra_flops)


def other(flops: int = 0, params: int = 0, macs: int = 0) -> tuple[Piece, ...]:
    """A single piece of kind 'other'."""
    return (Piece("other", params=params, macs=macs, other_flops=flops),)


def repeated(pieces: Sequence[Piece], times: int) -> tuple[Piece, ...]:
    """The pieces of one step, run ``times`` times: MACs and FLOPs scale, params do not."""
    return tuple(replace(p, macs=p.macs * times, other_flops=p.other_flops * times)
                 for p in pieces)


def axis_size(shape: Dims, axis: int | Sequence[int]) -> int:
    """Product of the sizes at ``axis`` (Keras axes count the batch: axis 1 = shape[0])."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    return int(f.product([int(shape[a - 1 if a > 0 else a]) for a in axes]))
