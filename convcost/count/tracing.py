"""Record every layer call of one forward pass: who was called, on what shapes, under which path.

A subclassed ``keras.Model`` has no static graph to walk, and TensorFlow's profiler sees ops, not
layers. Both gaps close the same way: for the length of a ``with recording(...)`` block, each
sub-layer's ``call`` is wrapped (on the instance, so nothing else is touched) by a function that
notes the layer, its path (``outer/inner/conv``), the input and output shapes and, if a counter
is given, the window of graph ops created during the call. On leaving the block the original
``call`` attributes are restored: the model is left as it was.

Containers (functional or Sequential models, subclassed models, and layers without a cost rule
that own sub-layers) are entered; leaves (layers with a rule, or without a rule and without
sub-layers) are recorded whole, and whatever they call inside is not recorded separately.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import keras

from convcost.count.keras_internals import sub_layers
from convcost.count.report import Shape


@dataclass
class CallRecord:
    """One call of one hooked layer or operation (shapes include the batch dimension)."""

    path: str
    layer: Any
    leaf: bool
    inputs: tuple[Shape, ...] = ()
    outputs: tuple[Shape, ...] = ()
    depth: int = 0
    ops: tuple[int, int] = (-1, -1)  # [first, last) graph-op indices created during the call


@dataclass
class _State:
    counter: Callable[[], int] | None
    records: list[CallRecord] = field(default_factory=list)
    stack: list[CallRecord] = field(default_factory=list)


def is_container(obj: Any, has_rule: Callable[[Any], bool]) -> bool:
    """Whether ``obj`` is entered (its sub-layers recorded) rather than recorded whole."""
    if has_rule(obj) or not isinstance(obj, keras.layers.Layer):
        return False
    return isinstance(obj, keras.Model) or bool(sub_layers(obj))


@contextlib.contextmanager
def recording(root: Any, has_rule: Callable[[Any], bool],
              counter: Callable[[], int] | None = None) -> Iterator[list[CallRecord]]:
    """Wrap ``call`` of ``root`` and everything it calls down to the leaves; yield the records.

    Args:
        root: the model (or container layer) about to be called; its record has path ``""``.
        has_rule: whether a layer has a cost rule (such layers are leaves).
        counter: optional; returns the number of graph ops so far, to attribute ops to calls.
    """
    state = _State(counter)
    hooked: list[tuple[Any, bool, Any]] = []
    try:
        for obj in _reachable(root, has_rule):
            own = vars(obj).get("call", _MISSING)
            hooked.append((obj, own is not _MISSING, own))
            leaf = not is_container(obj, has_rule)
            object.__setattr__(obj, "call", _wrap(obj, obj.call, leaf, state, root))
        yield state.records
    finally:
        for obj, had_own, own in hooked:
            if had_own:
                object.__setattr__(obj, "call", own)
            else:
                object.__delattr__(obj, "call")


_MISSING = object()


def _reachable(root: Any, has_rule: Callable[[Any], bool]) -> list[Any]:
    """``root`` and every layer/operation it may call, not looking inside leaves."""
    seen: dict[int, Any] = {}
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen[id(obj)] = obj
        if is_container(obj, has_rule):
            pending.extend(sub_layers(obj))
    return list(seen.values())


def _wrap(obj: Any, original: Callable, leaf: bool, state: _State, root: Any) -> Callable:
    @functools.wraps(original)
    def hooked(*args: Any, **kwargs: Any) -> Any:
        if any(frame.leaf for frame in state.stack):  # inside a leaf: part of the leaf's cost
            return original(*args, **kwargs)
        names = [frame.layer.name for frame in state.stack[1:]]
        path = "" if obj is root else "/".join([*names, obj.name])
        record = CallRecord(path, obj, leaf, _shapes((args, kwargs)), depth=len(state.stack))
        start = state.counter() if state.counter else -1
        state.stack.append(record)
        try:
            outputs = original(*args, **kwargs)
        finally:
            state.stack.pop()
        record.outputs = _shapes(outputs)
        record.ops = (start, state.counter() if state.counter else -1)
        state.records.append(record)
        return outputs

    return hooked


def _shapes(structure: Any) -> tuple[Shape, ...]:
    flat = keras.tree.flatten(structure)
    return tuple(tuple(x.shape) for x in flat if hasattr(x, "shape") and hasattr(x, "dtype"))
