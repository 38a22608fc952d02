"""When two layer calls cost the same: a key from the layer's class, configuration and weights
(its sub-layers' too) and the call's argument shapes, dtypes and plain values.

A transformer repeats one block tens of times; tracing each repeat again is what made a
Llama-2-70B walk take a minute instead of a second. Two calls with equal keys create the same
ops on the same shapes, so the walker traces the first and copies its rows for the others
(paths renamed, each repeat's own layers and weights kept). A layer whose configuration cannot
be read is still keyed, by its public attributes and weight shapes (keras-hub 0.32's
``LlamaTransformerDecoder.get_config()`` raises); anything that cannot be described gives no
key, and that call is simply traced.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from convcost.count.keras_internals import sub_layers

_PLAIN = (bool, int, float, str, type(None))


def call_key(layer: Any, args: Any, kwargs: Any) -> Hashable | None:
    """The key of one call of ``layer`` (None: do not reuse anything for it)."""
    try:
        return (layer_key(layer), describe(args), describe(kwargs))
    except Exception:  # an undescribable layer or argument: trace the call
        return None


def layer_key(layer: Any) -> Hashable:
    """Class, configuration without the name, weight shapes, and the sub-layers' keys."""
    weights = tuple((tuple(int(d) for d in w.shape), str(w.dtype))
                    for w in getattr(layer, "weights", ()))
    subs = tuple(layer_key(sub) for sub in sub_layers(layer))
    return (type(layer), _config(layer), weights, subs)


def _config(layer: Any) -> str:
    try:
        config = dict(layer.get_config())
    except Exception:  # e.g. keras-hub 0.32 LlamaTransformerDecoder.get_config() raises
        config = {k: v for k, v in vars(layer).items()
                  if not k.startswith("_") and isinstance(v, (*_PLAIN, tuple))}
    config.pop("name", None)
    return repr(sorted(config.items(), key=lambda item: str(item[0])))


def describe(value: Any) -> Hashable:
    """A hashable description: tensors by shape and dtype, structures item by item, plain
    values as themselves; anything else raises (no key)."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return ("tensor", tuple(None if d is None else int(d) for d in value.shape),
                str(value.dtype))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *(describe(v) for v in value))
    if isinstance(value, dict):
        return ("dict", *sorted((str(k), describe(v)) for k, v in value.items()))
    if isinstance(value, _PLAIN):
        return value
    raise TypeError(f"cannot describe {type(value).__name__}")
