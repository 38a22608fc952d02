"""LLM inference as it runs: prefill and decode steps traced from keras-hub's cached call.

A keras-hub ``CausalLM`` generates with ``call_with_cache(token_ids, cache, index)``: the new
tokens are embedded, each block projects them to K and V, writes those into its slice of the
cache and attends from the new queries to every key in the cache. Tracing that call (symbolic,
batch 1, nothing allocated) with the walker costs every matmul the model really runs: the
projections at the new tokens only, the attention against the cache's keys, GQA/MQA through
the model's own K/V heads, MoE through its router. Nothing here is a per-architecture formula.

* **Decode** at context C: one new token, a cache of ``min(C + 1, window)`` keys (the C cached
  ones and its own; a model with a sliding window keeps only the last ``window``, as a rolling
  buffer does, so it attends to those).
* **Prefill** of P tokens: P new tokens against a cache of P keys (keras-hub's own prefill,
  ``_build_cache``); the LM head runs at all P positions, as keras-hub runs it.
* **KV cache per token**: read from the cache keras-hub builds (its real layers, K/V heads and
  head size): the elements it grows by per token.

Bytes: weights at ``weight_bits``, the KV cache at ``kv_bits``, activations at the compute
dtype. Weights read per step: every weight of every layer called, except an embedding lookup,
which reads only the rows of its tokens, and an MoE bank, which reads the experts its tokens
are routed to (at most ``top_k`` per token, at most all of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from convcost.count.report import LayerCost, Report
from convcost.errors import ConvcostError

WEIGHT_BITS = (32, 16, 8, 4)
KV_BITS = (32, 16, 8, 4)


@dataclass(frozen=True)
class Precision:
    """Bits per weight, per KV-cache element, and bytes per activation element."""

    weight_bits: int = 32
    kv_bits: int = 16
    activation_bytes: int = 4

    def __post_init__(self) -> None:
        for option, value, allowed in (("--weight-bits", self.weight_bits, WEIGHT_BITS),
                                       ("--kv-bits", self.kv_bits, KV_BITS)):
            if value not in allowed:
                raise ConvcostError(f"{option} must be one of {', '.join(map(str, allowed))}. "
                                    f"Received: {value!r}.")

    def weight_bytes(self, params: int) -> float:
        return params * self.weight_bits / 8

    def kv_bytes(self, elements: int) -> float:
        return elements * self.kv_bits / 8


@dataclass(frozen=True)
class CacheLayout:
    """The key/value cache of one sequence: elements per token and the sliding window;
    ``shape`` is keras-hub's cache tensor at 2 tokens, ``axis`` its token axis."""

    elements_per_token: int
    layers: int
    window: int | None
    shape: tuple[int, ...] = ()
    axis: int = -1

    def cache_shape(self, tokens: int) -> tuple[int, ...]:
        """keras-hub's cache tensor for one sequence of ``tokens`` tokens."""
        return tuple(tokens if i == self.axis else d for i, d in enumerate(self.shape))

    def tokens_kept(self, tokens: int) -> int:
        """Tokens the cache holds after ``tokens`` were written (a window keeps the last)."""
        return tokens if self.window is None else min(tokens, self.window)

    def bytes(self, tokens: int, precision: Precision, batch: int = 1) -> float:
        """Bytes of the cache of ``batch`` sequences of ``tokens`` tokens."""
        return precision.kv_bytes(batch * self.elements_per_token * self.tokens_kept(tokens))


@dataclass(frozen=True)
class StepRow:
    """One layer call of a phase, per sequence (elements, not bytes): MACs, FLOPs, weights
    read, KV-cache elements read and written."""

    path: str
    type: str
    macs: int
    flops: int
    weights_read: int
    kv_read: int
    kv_written: int
    activations: int  # the call's inputs and output, elements


@dataclass(frozen=True)
class Phase:
    """A prefill or decode step at batch 1, per layer, and what it reads; ``steps`` > 1 is
    the sum of several decode steps (``--generate``)."""

    name: str
    new_tokens: int
    keys: int
    rows: tuple[StepRow, ...]
    steps: int = 1

    def total(self, field: str) -> int:
        return sum(getattr(row, field) for row in self.rows)


# --- the model -------------------------------------------------------------------------------


def causal_lm_of(model: Any) -> Any:
    """``model`` if it is a keras-hub CausalLM with a cached call, else a one-line error."""
    if not (hasattr(model, "call_with_cache") and hasattr(model, "backbone")):
        raise ConvcostError("--decode, --generate and --kv-bits need a keras-hub causal LM "
                            "(a zoo LLM such as gpt2, llama2_7b; not --no-top). Received: "
                            f"{type(model).__name__} {model.name!r}.")
    return model


def cache_layout(causal_lm: Any) -> CacheLayout:
    """The model's KV cache per token, from the cache keras-hub builds at two lengths."""
    from convcost.count.keras_internals import hub_cache_shape

    two, three = hub_cache_shape(causal_lm, 2), hub_cache_shape(causal_lm, 3)
    if two is None or three is None:
        raise ConvcostError(f"The model builds no key/value cache. Received: "
                            f"{type(causal_lm).__name__}.")
    per_token = math.prod(three) - math.prod(two)
    axes = [i for i, (a, b) in enumerate(zip(two, three, strict=True)) if a != b]
    if len(axes) != 1 or two[axes[0]] != 2:
        raise ConvcostError(f"The model's key/value cache has no single token axis. "
                            f"Received: shapes {two} and {three} at 2 and 3 tokens.")
    return CacheLayout(per_token, int(getattr(causal_lm.backbone, "num_layers", 0) or 0),
                       sliding_window(causal_lm), two, axes[0])


def sliding_window(causal_lm: Any) -> int | None:
    """The window of the blocks' causal self-attention (the causal rules of
    :mod:`convcost.count.rules`); None without one, or when blocks differ (then the whole
    cache is kept: an upper bound)."""
    from convcost.count.keras_internals import sub_layers
    from convcost.count.rules import causal_context
    from convcost.count.rules import hub as hub_rules

    hub_rules.register()
    windows = set()
    for block in getattr(causal_lm.backbone, "transformer_layers", []):
        for layer in sub_layers(block):
            causal, window = causal_context(block, {}, layer, {})
            if causal:
                windows.add(window)
    return windows.pop() if len(windows) == 1 else None


# --- tracing a phase -------------------------------------------------------------------------


def trace_phase(causal_lm: Any, layout: CacheLayout, *, new_tokens: int, keys: int,
                name: str, attention: str = "executed") -> Phase:
    """Trace ``call_with_cache`` for ``new_tokens`` tokens against a cache of ``keys``."""
    import keras

    from convcost.count.walker import analyze_call

    shape = layout.cache_shape(keys)
    step = _cached_step(causal_lm, keys - new_tokens)
    tokens = keras.KerasTensor((1, new_tokens), dtype="int32")
    cache = keras.KerasTensor(shape, dtype=causal_lm.compute_dtype)
    report = analyze_call(step, [tokens, cache], name=causal_lm.name, attention=attention)
    _check_counted(report)
    return Phase(name, new_tokens, keys, _rows(report, layout, new_tokens, keys))


def _cached_step(causal_lm: Any, index: int) -> Any:
    """A layer whose call is one ``call_with_cache`` at ``index`` (the logits)."""
    import keras

    class CachedStep(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__(name=causal_lm.name)
            self.causal_lm = causal_lm

        def call(self, token_ids: Any, cache: Any) -> Any:
            return self.causal_lm.call_with_cache(token_ids, cache, index)[0]

    return CachedStep()


def _check_counted(report: Report) -> None:
    missing = [row.path for row in report.layers if not row.supported]
    if missing:
        raise ConvcostError(f"Some calls of the cached step could not be counted: "
                            f"{', '.join(missing[:5])}. Received: model {report.model!r}.")


def _rows(report: Report, layout: CacheLayout, new_tokens: int, keys: int) -> tuple[StepRow, ...]:
    """Per-row elements; the KV traffic goes to the rows that do attention, one per layer."""
    first_params: dict[int, int] = {}
    lookups = set()
    for row in report.layers:
        first_params.setdefault(id(row.operation), row.keras_params)
        if row.call_index == 0 and _lookup(row):
            lookups.add(id(row.operation))
    attending = [i for i, row in enumerate(report.layers) if _attends(row)]
    per_layer = layout.elements_per_token // max(len(attending), 1)
    if per_layer * len(attending) != layout.elements_per_token:
        raise ConvcostError(f"The KV cache does not split evenly over the {len(attending)} "
                            f"attention calls found. Received: {layout.elements_per_token} "
                            "elements per token.")
    rows = []
    for index, row in enumerate(report.layers):
        kv = per_layer if index in attending else 0
        params = first_params[id(row.operation)]
        if row.call_index > 0 and id(row.operation) in lookups:  # a reverse embedding (head)
            params = row.macs // new_tokens  # a matmul: one MAC per weight per token
        rows.append(StepRow(row.path, row.type, row.macs, row.flops,
                            _weights_read(row, params, new_tokens),
                            kv * keys, kv * new_tokens, _activations(row)))
    return tuple(rows)


def _attends(row: LayerCost) -> bool:
    return any(piece.kind == "attention" and piece.macs for piece in row.pieces)


def _lookup(row: LayerCost) -> bool:
    return row.macs == 0 and any(p.kind == "embedding" for p in row.pieces)


def _weights_read(row: LayerCost, params: int, new_tokens: int) -> int:
    """Weights one call reads: a lookup reads its rows, an MoE bank its routed experts.

    A later call of an embedding layer (its reverse, the LM head) is a matmul over the
    vocabulary: it reads one weight per MAC per token (``params`` says so)."""
    if _lookup(row):
        return min(params, math.prod(int(d or 1) for d in row.output_shape))
    if any(p.active_params is not None for p in row.pieces):
        return sum(p.params if p.active_params is None
                   else min(p.params, p.active_params * new_tokens) for p in row.pieces)
    return params


def _activations(row: LayerCost) -> int:
    shapes = (*row.input_shapes, row.output_shape)
    return sum(math.prod(int(d or 1) for d in shape) for shape in shapes)


# --- decode and generate ---------------------------------------------------------------------


def decode_keys(layout: CacheLayout, context: int) -> int:
    """Keys one new token attends to with ``context`` tokens cached."""
    return layout.tokens_kept(context + 1)


def decode(causal_lm: Any, layout: CacheLayout, context: int) -> Phase:
    """One decode step with ``context`` tokens cached."""
    return trace_phase(causal_lm, layout, new_tokens=1, keys=decode_keys(layout, context),
                       name="decode")


def decode_at(causal_lm: Any, layout: CacheLayout, contexts: list[int]) -> list[Phase]:
    """One decode step at each of ``contexts``: traced at the fewest and the most keys,
    checked at a third, and the rest exact from the affine form (three traces in all)."""
    keys = [decode_keys(layout, context) for context in contexts]
    low, high = min(keys), max(keys)
    first = trace_phase(causal_lm, layout, new_tokens=1, keys=low, name="decode")
    if low == high:
        return [first for _ in keys]
    last = trace_phase(causal_lm, layout, new_tokens=1, keys=high, name="decode")
    mid = (low + high) // 2
    middle = trace_phase(causal_lm, layout, new_tokens=1, keys=mid, name="decode")
    return [Phase("decode", 1, k, tuple(_summed(a, b, m, low, high, mid, [k]) for a, b, m
                                        in zip(first.rows, last.rows, middle.rows, strict=True)))
            for k in keys]


def prefill(causal_lm: Any, layout: CacheLayout, prompt: int, attention: str) -> Phase:
    """The prefill of a prompt of ``prompt`` tokens."""
    return trace_phase(causal_lm, layout, new_tokens=prompt, keys=prompt, name="prefill",
                       attention=attention)


def decode_steps(causal_lm: Any, layout: CacheLayout, prompt: int, steps: int) -> Phase:
    """The sum of ``steps`` decode steps after a prompt of ``prompt`` tokens (contexts
    ``prompt .. prompt + steps - 1``), per layer.

    A step's cost is affine in the keys it attends to: traced at the first and the last
    step's keys, checked at a third, then summed exactly over every step's keys.
    """
    keys = [decode_keys(layout, prompt + t) for t in range(steps)]
    low, high = keys[0], keys[-1]
    first = decode(causal_lm, layout, prompt)
    if low == high:
        return _scaled(first, steps)
    last = trace_phase(causal_lm, layout, new_tokens=1, keys=high, name="decode")
    middle_keys = (low + high) // 2
    middle = trace_phase(causal_lm, layout, new_tokens=1, keys=middle_keys, name="decode")
    rows = []
    for a, b, m in zip(first.rows, last.rows, middle.rows, strict=True):
        rows.append(_summed(a, b, m, low, high, middle_keys, keys))
    return Phase("decode", steps, high, tuple(rows), steps=steps)


_AFFINE = ("macs", "flops", "weights_read", "kv_read", "kv_written", "activations")


def _summed(a: StepRow, b: StepRow, m: StepRow, low: int, high: int, mid: int,
            keys: list[int]) -> StepRow:
    """Row ``a`` summed over steps at ``keys``, from its values at ``low`` (a), ``high`` (b)."""
    if a.path != b.path or a.path != m.path:
        raise ConvcostError(f"Decode steps at {low} and {high} keys trace different layers. "
                            f"Received: {a.path!r} vs {b.path!r}.")
    values = {}
    for name in _AFFINE:
        va, vb, vm = getattr(a, name), getattr(b, name), getattr(m, name)
        slope, rest = divmod(vb - va, high - low)
        if rest or va + slope * (mid - low) != vm:
            raise ConvcostError(f"The {name} of {a.path!r} is not affine in the keys attended "
                                f"to. Received: {va}, {vm}, {vb} at {low}, {mid}, {high} keys.")
        values[name] = sum(va + slope * (k - low) for k in keys)
    return StepRow(a.path, a.type, **values)


def _scaled(phase: Phase, steps: int) -> Phase:
    rows = tuple(StepRow(r.path, r.type, *(getattr(r, n) * steps for n in _AFFINE))
                 for r in phase.rows)
    return Phase(phase.name, steps, phase.keys, rows, steps=steps)
