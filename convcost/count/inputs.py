"""The input shapes a walk starts from: the model's own, or those the caller asked for.

``input_shape`` is one per-sample shape (a single-input model), or a mapping ``{input name:
shape}`` for a model with several inputs (a keras-hub text backbone takes ``token_ids`` and
``padding_mask``). ``seq_len`` sets every token-sequence input (integer or boolean, one axis per
sample) that the mapping leaves out. Every shape is checked here, so a bad one is a one-line
:class:`~convcost.errors.ConvcostError`, never a Keras traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from convcost.count.report import Shape
from convcost.count.shapes import Request
from convcost.errors import ConvcostError, one_line

InputShape = Sequence[int] | Mapping[str, Sequence[int]]


def input_shapes(graph: keras.Model, request: Request,
                 seq_len: int | None = None) -> list[tuple[str, Shape]]:
    """(name, shape with batch) of every input of ``graph``, overridden as requested."""
    own = [(x.name, tuple(x.shape)) for x in graph.inputs]
    if request is None and seq_len is None:
        return own
    if isinstance(request, tuple):
        if len(own) != 1:
            raise ConvcostError(
                f"input_shape can only override a single-input model; give a mapping "
                f"{{input name: shape}} for its {len(own)} inputs "
                f"({', '.join(name for name, _ in own)}). Received: {request!r}.")
        return [(own[0][0], _fitted(own[0], request))]
    given = dict(request or {})
    unknown = sorted(set(given) - {name for name, _ in own})
    if unknown:
        raise ConvcostError(
            f"Unknown input name {', '.join(repr(n) for n in unknown)}; the model's inputs are "
            f"{', '.join(name for name, _ in own)}. Received: input_shape {given!r}.")
    if seq_len is not None and not any(_is_token_input(x) for x in graph.inputs):
        raise ConvcostError(
            "seq_len sets token inputs (integer ids or masks, one axis per sample), and this "
            f"model has none; give input_shape instead. Received: seq_len {seq_len}, inputs "
            f"{', '.join(f'{name} {fmt(shape[1:])}' for name, shape in own)}.")
    return [(name, _one(graph, index, (name, shape), given, seq_len))
            for index, (name, shape) in enumerate(own)]


def _one(graph: keras.Model, index: int, own: tuple[str, Shape], given: dict,
         seq_len: int | None) -> Shape:
    name, shape = own
    if name in given:
        return _fitted(own, given[name])
    if seq_len is not None and _is_token_input(graph.inputs[index]):
        return (shape[0], seq_len)
    if any(d is None for d in shape[1:]):
        hint = " (or seq_len for token inputs)" if _is_token_input(graph.inputs[index]) else ""
        raise ConvcostError(
            f"Missing input shape for {name!r}, whose shape {fmt(shape[1:])} is not fully "
            f"known; give every such input a shape{hint}. Received: input_shape {given!r}.")
    return shape


def _is_token_input(tensor: Any) -> bool:
    """One axis per sample, integer or boolean: token ids, segment ids, padding masks."""
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    return len(tensor.shape) == 2 and (dtype.startswith(("int", "uint")) or dtype == "bool")


def _fitted(own: tuple[str, Shape], requested: tuple[int, ...]) -> Shape:
    name, shape = own
    if len(requested) != len(shape) - 1:
        raise ConvcostError(
            f"input_shape must have {len(shape) - 1} dimensions for this model (its input "
            f"{name!r} is {fmt(shape[1:])}). Received: {fmt(requested)}.")
    return (None, *requested)


def subclassed_shape(model: keras.Model, request: Request) -> Shape:
    """The input shape (with batch) of a subclassed model: given, or the one it was built with."""
    if isinstance(request, dict):
        raise ConvcostError("A subclassed model is traced with one input; pass input_shape as "
                            f"one shape. Received: {request!r}.")
    if request is not None:
        if not model.built:  # build it as its first call would: one call on a zero sample
            _build_by_calling(model, request)
        return (None, *request)
    config = model.get_build_config() if model.built else None
    built = config.get("input_shape") if config else None
    if built is None or not isinstance(built, (tuple, list)) or len(built) < 2:
        raise ConvcostError(
            "A subclassed model is analysed by tracing one call, and this one has no known "
            "input shape; build or call it first, or pass input_shape=(H, W, C) (CLI: "
            f"--input-shape H,W,C). Received: {type(model).__name__} {model.name!r}, "
            f"{'built with ' + repr(config) if model.built else 'never built'}."
        )
    return (None, *built[1:])


def _build_by_calling(model: keras.Model, shape: tuple[int, ...]) -> None:
    try:
        model(keras.ops.zeros((1, *shape)), training=False)
    except Exception as error:
        text = one_line(error)
        raise ConvcostError(f"Could not build the subclassed model by calling it on one zero "
                            f"sample: {text} Received: input_shape {fmt(shape)}.") from None


def fmt(shape: Sequence[int | None]) -> str:
    """``(None, 28, 28, 1)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
