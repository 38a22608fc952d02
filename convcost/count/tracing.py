"""Record every layer call of one forward pass: who was called, on what, under which path.

A subclassed ``keras.Model`` has no static graph to walk, a layer without a rule may hold
sub-layers, and TensorFlow's ops carry no layer names. All three close the same way: for the
length of a ``with recording(...)`` block, each sub-layer's ``call`` is wrapped (on the
instance, so nothing else is touched) by a function that notes the layer, its path
(``outer/inner/conv``), its arguments *bound by name* to its ``call`` signature, the output
shapes and, if a counter is given, the window of graph ops created during the call. On leaving
the block the original ``call`` attributes are restored: the model is left as it was.

Containers (functional or Sequential models, subclassed models, and layers without a cost rule
that own sub-layers) are entered; leaves (layers with a rule, or without a rule and without
sub-layers) are recorded whole, and whatever they call inside is not recorded separately.

Arguments are bound to the signature, not flattened: ``keras.tree`` sorts a dict's keys, so a
call ``mha(query=x, value=x, attention_mask=m)`` flattened as ``(args, kwargs)`` would put the
mask first. :func:`call_inputs` gives the tensors in signature order, masks and caches left out.

A *memo* (optional) makes a repeated container call cheap: when ``memo.key(layer, args,
kwargs)`` equals an earlier call's key, the call is not run again; ``memo.stand_in`` makes
outputs shaped like the first call's, and the record points to the first one (``copy_of``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import keras

from convcost.count.keras_internals import bind_arguments, sub_layers
from convcost.count.report import Shape

NOT_INPUTS = re.compile(r"mask|cache|index|training|^positions?$|^return_")
"""Parameters that are never a layer's data input (they steer it): left out of
:func:`call_inputs`, unless one is the first parameter."""


@dataclass
class CallRecord:
    """One call of one hooked layer or operation (shapes include the batch dimension).

    ``inputs`` are the tensor arguments in signature order (see :func:`call_inputs`);
    ``options`` the call's other arguments that are plain values (``use_causal_mask=True``);
    ``chain`` the layers on the call stack below the root, ending with this one (its path is
    their names joined by ``/``).
    """

    path: str
    layer: Any
    leaf: bool
    inputs: tuple[Shape, ...] = ()
    outputs: tuple[Shape, ...] = ()
    depth: int = 0
    ops: tuple[int, int] = (-1, -1)  # [first, last) graph-op indices created during the call
    options: dict[str, Any] = field(default_factory=dict)
    cache: Shape | None = None  # the shape of a ``cache`` argument (a key/value cache), if any
    parent: CallRecord | None = None
    copy_of: CallRecord | None = None
    chain: tuple[Any, ...] = ()


class Memo(Protocol):
    """What a recording needs to skip repeated container calls."""

    def key(self, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable | None:
        """Equal keys: the calls cost the same (None: never skip this call)."""

    def stand_in(self, like: Any) -> Any:
        """A fresh symbolic tensor shaped like ``like`` (an output of the first call)."""


@dataclass
class _State:
    counter: Callable[[], int] | None
    memo: Memo | None
    records: list[CallRecord] = field(default_factory=list)
    stack: list[CallRecord] = field(default_factory=list)
    seen: dict[Hashable, tuple[CallRecord, Any]] = field(default_factory=dict)


def is_container(obj: Any, has_rule: Callable[[Any], bool]) -> bool:
    """Whether ``obj`` is entered (its sub-layers recorded) rather than recorded whole."""
    if has_rule(obj) or not isinstance(obj, keras.layers.Layer):
        return False
    return isinstance(obj, keras.Model) or bool(sub_layers(obj))


def call_inputs(fn: Callable[..., Any], args: tuple[Any, ...] | list[Any],
                kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """(tensor arguments in the order of ``fn``'s signature, other plain-value arguments).

    Masks, caches, indices and ``training`` are left out of the tensors (see
    :data:`NOT_INPUTS`), except as the first parameter. Without a usable signature: the
    positional tensors, then the keyword ones.
    """
    bound = bind_arguments(fn, tuple(args), kwargs)
    if bound is None:
        return _tensors(list(args)) + _tensors(list(kwargs.values())), {}
    tensors: list[Any] = []
    options: dict[str, Any] = {}
    for index, (name, value) in enumerate(bound.items()):
        found = _tensors(value)
        if found and (index == 0 or not NOT_INPUTS.search(name)):
            tensors += found
        elif not found and isinstance(value, (bool, int, float, str, type(None))):
            options[name] = value
    return tensors, options


def _tensors(structure: Any) -> list[Any]:
    return [x for x in keras.tree.flatten(structure)
            if hasattr(x, "shape") and hasattr(x, "dtype")]


@contextlib.contextmanager
def recording(root: Any, has_rule: Callable[[Any], bool],
              counter: Callable[[], int] | None = None,
              memo: Memo | None = None) -> Iterator[list[CallRecord]]:
    """Wrap ``call`` of ``root`` and everything it calls down to the leaves; yield the records
    (in the order the calls finished: a container after its sub-layers).

    Args:
        root: the model (or container layer) about to be called; its record has path ``""``.
        has_rule: whether a layer has a cost rule (such layers are leaves).
        counter: optional; returns the number of graph ops so far, to attribute ops to calls.
        memo: optional; skips container calls that repeat an earlier one (see :class:`Memo`).
    """
    state = _State(counter, memo)
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
        record = _start(obj, original, leaf, state, root, args, kwargs)
        memo = state.memo if not leaf and obj is not root else None
        key = memo.key(obj, args, kwargs) if memo is not None else None
        if memo is not None and key is not None and key in state.seen:
            return _repeat(record, state, memo, key)
        state.stack.append(record)
        try:
            outputs = original(*args, **kwargs)
        finally:
            state.stack.pop()
        _finish(record, state, outputs)
        if key is not None:
            state.seen[key] = (record, outputs)
        return outputs

    return hooked


def _start(obj: Any, original: Callable, leaf: bool, state: _State, root: Any,
           args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallRecord:
    chain = () if obj is root else (*(frame.layer for frame in state.stack[1:]), obj)
    tensors, options = call_inputs(original, args, kwargs)
    record = CallRecord("/".join(layer.name for layer in chain), obj, leaf,
                        tuple(tuple(x.shape) for x in tensors), depth=len(state.stack),
                        options=options, parent=state.stack[-1] if state.stack else None,
                        chain=chain)
    record.ops = (state.counter() if state.counter else -1, -1)
    record.cache = cache_shape(original, args, kwargs)
    return record


def cache_shape(fn: Callable, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Shape | None:
    """The shape of the tensor passed as ``cache`` to ``fn`` (keras-hub's cached attention and
    decoder blocks), or None."""
    bound = bind_arguments(fn, tuple(args), kwargs) or {}
    cache = bound.get("cache")
    shape = getattr(cache, "shape", None)
    return tuple(shape) if shape is not None else None


def _finish(record: CallRecord, state: _State, outputs: Any) -> None:
    record.outputs = tuple(tuple(x.shape) for x in _tensors(outputs))
    record.ops = (record.ops[0], state.counter() if state.counter else -1)
    state.records.append(record)


def _repeat(record: CallRecord, state: _State, memo: Memo, key: Hashable) -> Any:
    """A call equal to an earlier one: stand-in outputs, a record pointing at the first."""
    first, first_outputs = state.seen[key]
    outputs = keras.tree.map_structure(memo.stand_in, first_outputs)
    record.copy_of = first
    _finish(record, state, outputs)
    return outputs
