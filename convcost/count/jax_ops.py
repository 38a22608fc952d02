"""Cost the JAX primitives a layer call creates on Keras' JAX backend: the counterpart of
:mod:`convcost.count.graph_ops`, with the same tallies, windows and conventions.

Keras traces a call on symbolic inputs with ``jax.eval_shape``; JAX records each primitive as an
equation of the trace, so a call's equations are a window of that list, as a call's TensorFlow
ops are a window of the scratch graph. Primitives are costed as the TensorFlow path costs ops:

* **MACs**: ``dot_general`` (output size x contracted size; both operands depending on the
  input: ``attention``) and ``conv_general_dilated`` (output size x kernel size per output
  channel: ``depthwise`` for a per-channel conv, ``pointwise`` for a 1x1 one).
* **Other FLOPs**: 1 per output element of an element-wise primitive, 1 per input element of
  a reduction or scan (a mean's division by the count is part of it, as TensorFlow's
  ``Mean``), the window per output of ``reduce_window_*`` (pooling), 3 per element
  of ``jax.nn.softmax`` and 1 of ``relu6`` (as TensorFlow's fused ops are counted).
* **Zero on purpose**: data movement and bookkeeping (:data:`ZERO_PRIMITIVES`).
* **Nested jaxprs** (``jit``, ``custom_jvp_call``, ...): the sum of their equations.
* **Unknown**: anything else, listed per call; the call's row is then partial.

Work on no model input (foldable) and integer/boolean work are not counted, as on TensorFlow.
JAX's private trace state is read through :mod:`convcost.count.keras_internals`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import keras

from convcost.count import keras_internals as internals
from convcost.count.graph_ops import OpCost, Tally

ELEMENTWISE_PRIMITIVES = frozenset({
    "add", "add_any", "sub", "mul", "div", "rem", "max", "min", "neg", "abs", "sign", "exp",
    "exp2", "log", "log1p", "expm1", "tanh", "logistic", "sqrt", "rsqrt", "cbrt", "pow",
    "integer_pow", "square", "erf", "erfc", "erf_inv", "sin", "cos", "tan", "atan2", "floor",
    "ceil", "round", "is_finite", "not", "and", "or", "xor", "select_n", "clamp", "lt", "le",
    "gt", "ge", "eq", "ne", "nextafter"})
"""One FLOP per output element."""

REDUCE_PRIMITIVES = frozenset({
    "reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
    "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp", "top_k"})
"""One FLOP per input element."""

ZERO_PRIMITIVES = frozenset({
    "reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims",
    "convert_element_type", "slice", "dynamic_slice", "dynamic_update_slice", "gather",
    "scatter", "concatenate", "pad", "iota", "copy", "copy_p", "rev", "split", "device_put",
    "sharding_constraint", "reduce_precision", "bitcast_convert_type", "stop_gradient", "stack",
    "random_bits", "random_seed", "random_wrap", "random_unwrap", "random_fold_in",
    "random_split", "threefry2x32", "full", "empty", "mesh_cast", "pvary"})
"""Data movement and bookkeeping: 0 FLOPs."""

POOL_PRIMITIVES = frozenset({"reduce_window_sum", "reduce_window_max", "reduce_window_min",
                             "reduce_window"})
NAMED_FLOPS = {"_softmax": 3, "softmax": 3, "_log_softmax": 3, "log_softmax": 3, "relu6": 1}
"""FLOPs per output element of the nested jaxprs (``jax.nn`` functions, by name) that
TensorFlow runs as one op, counted as :mod:`convcost.count.graph_ops` counts that op
(``Softmax``: 3, ``Relu6``: 1), not as the primitives JAX writes them with."""
NESTED = ("jaxpr", "call_jaxpr", "fun_jaxpr")  # where nested primitives keep their jaxpr


def available() -> bool:
    """Whether layer calls are traced by JAX here (Keras' JAX backend)."""
    return keras.backend.backend() == "jax"


class JaxOpLog:
    """The equations of one traced call: the interface of :class:`graph_ops.OpLog`."""

    def __init__(self) -> None:
        self.frame: Any = None
        self.live: set[Any] = set()
        self.equations: list[Any] = []  # kept when the call returns: JAX empties its list

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` that first notes the trace and its input variables (the live ones)."""

        def traced(*args: Any, **kwargs: Any) -> Any:
            self.frame = internals.jax_trace_frame()
            for x in keras.tree.flatten((args, kwargs)):
                variable = internals.jax_tracer_variable(x)
                if variable is not None:
                    self.live.add(variable)
            outputs = fn(*args, **kwargs)
            if self.frame is not None:
                self.equations = internals.jax_frame_equations(self.frame)
            return outputs

        return traced

    def count(self) -> int:
        """Equations recorded so far (0 before the trace starts)."""
        return len(self.frame.tracing_eqns) if self.frame is not None else 0

    def stand_in(self, like: Any) -> Any:
        """A memoized call's output: the first call's own (it depends on the input too)."""
        return like

    def tallies(self, windows: Sequence[tuple[Any, int, tuple[int, int]]]) -> dict[Any, Tally]:
        """Tally each equation for the innermost window holding it (deeper calls win)."""
        if self.frame is None:
            return {}
        equations = self.equations
        owner: list[Any] = [None] * len(equations)
        for key, _, (first, last) in sorted(windows, key=lambda w: w[1]):
            for index in range(max(first, 0), min(last, len(equations))):
                owner[index] = key
        result: dict[Any, Tally] = {key: Tally() for key, _, _ in windows}
        live, sums = set(self.live), set[Any]()
        listed = [(e, internals.jax_equation_inputs(e)) for e in equations]
        softmax = softmax_costs(listed)
        for index, (equation, inputs) in enumerate(listed):
            flags = [_is_variable(x) and x in live for x in inputs]
            if any(flags):
                live.update(equation.outvars)
            if owner[index] is not None and any(flags):
                costs = ([(equation.primitive.name, softmax[id(equation)])]
                         if id(equation) in softmax else _costs(equation, inputs, flags, sums))
                _add(result[owner[index]], costs)
        return result


def _costs(equation: Any, inputs: Sequence[Any], flags: Sequence[bool],
           sums: set[Any]) -> list[tuple[str, OpCost]]:
    """:func:`equation_costs`, except that a mean (``reduce_sum``, then ``div`` of the sum by
    a count) costs 1 per input element, as TensorFlow's ``Mean`` op: the ``div`` is free."""
    name = equation.primitive.name
    if name == "reduce_sum" or (name in ZERO_PRIMITIVES and any(
            _is_variable(x) and x in sums for x in inputs)):  # keepdims reshapes the sum
        sums.update(equation.outvars)
    if name == "div" and list(flags) == [True, False] and inputs[0] in sums:
        return [(name, OpCost("zero"))]
    return equation_costs(equation, inputs, flags)


def _add(tally: Tally, costs: list[tuple[str, OpCost]]) -> None:
    tally.ops += 1
    for name, cost in costs:
        if cost.category == "unknown":
            tally.unknown[name] += 1
        elif cost.category == "mac":
            tally.macs[cost.kind] += cost.macs
        elif cost.category == "flop":
            tally.flops += cost.flops


def equation_costs(equation: Any, inputs: Sequence[Any],
                   flags: Sequence[bool]) -> list[tuple[str, OpCost]]:
    """(primitive name, cost) of one equation, or of each equation of its nested jaxpr."""
    name = equation.primitive.name
    inner = next((equation.params[k] for k in NESTED if k in equation.params), None)
    per_element = NAMED_FLOPS.get(str(equation.params.get("name", "")))
    if inner is not None and per_element is not None:
        return [(name, OpCost("flop", flops=per_element * _size(equation.outvars[0])))]
    if inner is not None:
        jaxpr = getattr(inner, "jaxpr", inner)
        offset = len(inputs) - len(jaxpr.invars)  # custom_jvp_call passes consts first
        return jaxpr_costs(jaxpr, list(flags)[offset:])
    return [(name, primitive_cost(equation, inputs, flags))]


def jaxpr_costs(jaxpr: Any, flags: Sequence[bool]) -> list[tuple[str, OpCost]]:
    """The costs of a jaxpr's equations, given which of its inputs depend on the model input
    (``jax.make_jaxpr(f)(*args).jaxpr``, or a nested one)."""
    live = {v for v, flag in zip(jaxpr.invars, flags) if flag}
    costs: list[tuple[str, OpCost]] = []
    sums: set[Any] = set()
    softmax = softmax_costs([(e, e.invars) for e in jaxpr.eqns])
    for equation in jaxpr.eqns:
        mine = [_is_variable(x) and x in live for x in equation.invars]
        if any(mine):
            live.update(equation.outvars)
            costs += ([(equation.primitive.name, softmax[id(equation)])]
                      if id(equation) in softmax else
                      _costs(equation, equation.invars, mine, sums))
    return costs


PASS_THROUGH = frozenset({"broadcast_in_dim", "reshape", "stop_gradient", "expand_dims",
                          "convert_element_type", "squeeze"})


def softmax_costs(listed: Sequence[tuple[Any, Sequence[Any]]]) -> dict[int, OpCost]:
    """The primitives of each softmax among ``(equation, inputs)`` — ``exp(x - max)`` divided by
    its own sum, as ``jax.nn.softmax`` writes it — costed as TensorFlow's one ``Softmax`` op
    (:data:`NAMED_FLOPS`): the division gets 3 per element, the max, sub, exp and sum 0."""
    producer = {id(v): (e, ins) for e, ins in listed for v in e.outvars}

    def source(x: Any) -> tuple[Any, Sequence[Any]] | None:
        found = producer.get(id(x))
        while found is not None and found[0].primitive.name in PASS_THROUGH:
            found = producer.get(id(found[1][0]))
        return found

    costs: dict[int, OpCost] = {}
    for equation, inputs in listed:
        if equation.primitive.name != "div" or len(inputs) != 2:
            continue
        exp, total = producer.get(id(inputs[0])), source(inputs[1])
        if not (exp and total and exp[0].primitive.name == "exp"
                and total[0].primitive.name == "reduce_sum" and total[1][0] is inputs[0]):
            continue
        group = [exp[0], total[0], *_shift(producer, source, exp[1][0])]
        costs.update({id(e): OpCost("zero") for e in group})
        costs[id(equation)] = OpCost("flop", flops=NAMED_FLOPS["softmax"]
                                     * _size(equation.outvars[0]))
    return costs


def _shift(producer: dict[int, Any], source: Callable[[Any], Any], x: Any) -> list[Any]:
    """The ``x - max(x)`` before a softmax's exp: the sub, max and reduce_max equations."""
    sub = producer.get(id(x))
    if sub is None or sub[0].primitive.name != "sub":
        return []
    found, top = [sub[0]], source(sub[1][1])
    while top is not None and top[0].primitive.name in ("max", "reduce_max"):
        found.append(top[0])
        if top[0].primitive.name == "reduce_max":
            break
        top = next((source(v) for v in top[1] if _is_variable(v) and source(v)), None)
    return found


def _is_variable(x: Any) -> bool:
    return not hasattr(x, "val")  # a Literal carries its value


def primitive_cost(equation: Any, inputs: Sequence[Any], flags: Sequence[bool]) -> OpCost:
    """The cost of one primitive (``flags``: which inputs depend on the model input)."""
    name = equation.primitive.name
    if name in ZERO_PRIMITIVES:
        return OpCost("zero")
    found = [_shape(x) for x in [*inputs, *equation.outvars]]
    if any(s is None for s in found):
        return OpCost("unknown")
    known = cast(list[list[int]], found)
    shapes, outputs = known[:len(inputs)], known[len(inputs):]
    if name == "dot_general":
        return OpCost("mac", macs=_dot_macs(equation, shapes, outputs[0]),
                      kind="attention" if sum(flags) > 1 else "fully_connected")
    if name == "conv_general_dilated":
        return _conv_cost(equation, shapes, outputs[0])
    if _integer([*inputs, *equation.outvars]):
        return OpCost("int")
    out = math.prod(outputs[0]) if outputs else 0
    if name in ELEMENTWISE_PRIMITIVES:
        return OpCost("flop", flops=out)
    if name in REDUCE_PRIMITIVES:
        return OpCost("flop", flops=math.prod(shapes[0]))
    if name in POOL_PRIMITIVES:
        return OpCost("flop", flops=out * math.prod(equation.params["window_dimensions"]))
    return OpCost("unknown")


def _dot_macs(equation: Any, shapes: list[Any], out: Sequence[int]) -> int:
    """Output size x the product of the contracted sizes."""
    (contract, _), _ = equation.params["dimension_numbers"]
    return math.prod(out) * math.prod(shapes[0][d] for d in contract)


def _conv_cost(equation: Any, shapes: list[Any], out: Sequence[int]) -> OpCost:
    """Output size x kernel size per output channel; depthwise and 1x1 kinds as TensorFlow's."""
    rhs_spec = equation.params["dimension_numbers"].rhs_spec
    kernel = shapes[1]
    spatial = [kernel[d] for d in rhs_spec[2:]]
    per_group = kernel[rhs_spec[1]]
    macs = math.prod(out) * per_group * math.prod(spatial)
    groups = equation.params.get("feature_group_count", 1)
    if groups > 1 and per_group == 1:
        return OpCost("mac", macs=macs, kind="depthwise")
    return OpCost("mac", macs=macs, kind="pointwise" if all(k == 1 for k in spatial)
                  else "standard")


def _shape(x: Any) -> list[int] | None:
    """A static shape as ints; None when a size is symbolic."""
    shape = getattr(getattr(x, "aval", None), "shape", None)
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    return [int(d) for d in shape]


def _size(x: Any) -> int:
    shape = _shape(x)
    return math.prod(shape) if shape else 0


def _integer(variables: Sequence[Any]) -> bool:
    """Whether every input and output is an integer or boolean array."""
    import numpy as np

    kinds = []
    for x in variables:
        try:
            kinds.append(np.dtype(getattr(getattr(x, "aval", None), "dtype", "float32")).kind)
        except TypeError:  # a PRNG key type: not floating-point work
            kinds.append("u")
    return all(kind in "biu" for kind in kinds)
