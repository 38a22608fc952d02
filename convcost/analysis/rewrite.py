"""Rewrite convolutions: standard -> depthwise separable (``separate``) and back (``merge``).

``separate`` turns each eligible ``Conv2D`` with a k×k kernel (k > 1) into a
``DepthwiseConv2D`` (same kernel, strides, padding, dilation, activation and bias) followed by
a 1×1 ``Conv2D`` (same filters, activation and bias) — the conversion the article and
MobileNet v1 make, where both halves have a bias and a ReLU. ``merge`` is its inverse: a
``DepthwiseConv2D``, whatever sits between it and the next 1×1 ``Conv2D`` (batch norm,
activations, padding — dropped, since one standard conv replaces the pair) and that 1×1 conv
become one k×k ``Conv2D`` with the depthwise's geometry and the 1×1 conv's filters,
activation and bias; a ``ZeroPadding2D`` *before* the depthwise stays.

The rewrite rebuilds the functional graph node by node (the order ``Functional`` runs it in),
so residual adds, shared layers, several inputs/outputs and nested models (rebuilt as new
models, rewritten inside too) keep their shape. Untouched layers are clones (``from_config``)
holding copies of the original weights and names; new layers are freshly initialized by their
Keras initializers. The original model is never changed. The result is a plain Keras model:
no Lambda layers, so it saves to ``.keras`` and loads in safe mode.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from convcost.count.keras_internals import (
    GraphNode,
    deserialization,
    functional_graph,
    inner_graph,
    nodes_in_order,
    producer,
)
from convcost.errors import ConvcostError, one_line
from convcost.files import atomic_path, check_output_path

FRESH_NOTE = "new layers are freshly initialized (Keras initializers); they need training"
COPY_NOTE = "untouched layers keep the original's weights and names; the model is not compiled"
DROP_NOTE = ("layers between a depthwise conv and its 1x1 conv (batch norm, activation, "
             "padding) are dropped: one standard conv replaces the pair")

# Layers that may sit between a depthwise conv and its 1x1 conv; merge drops them.
_BETWEEN = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
            keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU,
            keras.layers.ZeroPadding2D, keras.layers.Dropout)
_STANDARD_CONVS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
                   keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
                   keras.layers.Conv3DTranspose)
_DEPTHWISE_CONVS = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
                    keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


@dataclass(frozen=True)
class Replacement:
    """Original layers (``removed``) and the layers that took their place (``added``)."""

    path: str
    removed: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True)
class Skip:
    """A candidate layer left as it is, and why."""

    path: str
    type: str
    reason: str


@dataclass(frozen=True)
class RewriteLog:
    """What a rewrite did: replacements, skipped candidates, and notes for the reader."""

    action: str
    model: str
    replaced: tuple[Replacement, ...]
    skipped: tuple[Skip, ...]
    notes: tuple[str, ...] = field(default=())

    def skipped_by_reason(self) -> dict[str, list[str]]:
        """Skipped layer paths grouped by reason, in first-seen order."""
        groups: dict[str, list[str]] = {}
        for skip in self.skipped:
            groups.setdefault(skip.reason, []).append(skip.path)
        return groups


def separate(model: keras.Model, *, include_first: bool = False, layers: str | None = None,
             unsafe: bool = False) -> tuple[keras.Model, RewriteLog]:
    """Replace standard k×k convs by depthwise + 1×1 convs (MobileNet v1's separable conv).

    Eligible: a ``Conv2D`` (exactly; subclasses may behave differently) with ``groups=1`` and
    a kernel larger than 1×1 (non-square kernels such as 1×7 included). By default the first
    such conv in execution order is kept, as MobileNet keeps its first full conv. Other convs
    are left alone and listed in the log with the reason.

    Args:
        model: a functional or Sequential Keras model (nested models are rewritten inside).
        include_first: also replace the first k×k conv.
        layers: only layers whose name or path (``outer/inner/conv``) matches this pattern,
            a glob (``conv_*``) or a regular expression matching the whole name (``conv_[23]``).
        unsafe: rebuild layers that hold Python code (``Lambda``); only for trusted models.

    Returns:
        ``(new_model, log)``; raises ConvcostError when no layer is eligible.
    """
    survey = _Survey(model)
    matches = _matcher(layers, survey)
    plan = _Plan(action="separate", model=model.name)
    first = _first_conv(survey)
    for site in survey.unique_sites():
        if isinstance(site.op, _STANDARD_CONVS) and matches(site):
            reason = _separate_reason(site.op, site.op is first and not include_first)
            if reason:
                plan.skip(site, reason)
            else:
                plan.replace(site, _separable_pair(site.op, survey.taken(site.graph)))
    return _finish(model, plan, [FRESH_NOTE, COPY_NOTE], unsafe)


def merge(model: keras.Model, *, layers: str | None = None,
          unsafe: bool = False) -> tuple[keras.Model, RewriteLog]:
    """Replace each depthwise conv + 1×1 conv pair by one standard k×k conv ("Conv MobileNet").

    The chain from a ``DepthwiseConv2D`` may pass through batch norm, activation, dropout and
    padding layers before the 1×1 ``Conv2D`` (strides 1, groups 1); those are dropped. Each
    link must feed only the next one (single consumer, not a model output, not shared), and
    the merged conv must give the 1×1 conv's output shape; otherwise the pair is listed.

    Args:
        model: a functional or Sequential Keras model (nested models are rewritten inside).
        layers: only pairs whose depthwise or 1×1 conv matches this name/path pattern
            (glob or full-match regular expression).
        unsafe: rebuild layers that hold Python code (``Lambda``); only for trusted models.

    Returns:
        ``(new_model, log)``; raises ConvcostError when no pair can be merged.
    """
    survey = _Survey(model)
    matches = _matcher(layers, survey)
    plan = _Plan(action="merge", model=model.name)
    for site in survey.unique_sites():
        if not isinstance(site.op, _DEPTHWISE_CONVS):
            continue
        chain, reason = _merge_chain(site, survey)
        if not any(matches(link) for link in ((chain[0], chain[-1]) if chain else (site,))):
            continue
        if reason:
            plan.skip(site, reason)
        else:
            plan.merge(chain, _merged_conv(chain, survey.taken(site.graph)))
    return _finish(model, plan, [FRESH_NOTE, COPY_NOTE, DROP_NOTE], unsafe)


def save_model(model: keras.Model, path: str | Path) -> Path:
    """Save ``model`` to a ``.keras`` file atomically (temp file in the same folder, replace).

    Args:
        model: the model to save.
        path: the target; checked with :func:`check_output_path`.
    """
    target = check_output_path(path)
    with atomic_path(target, what="model file") as temp:
        try:
            model.save(temp)
        except Exception as error:
            text = one_line(error, 200)
            raise ConvcostError(f"Could not save the model: {type(error).__name__}: {text} "
                                f"Received: {str(path)!r}.") from None
    return target


# --- the graph: a survey of every node, in execution order -----------------------------------


@dataclass(frozen=True)
class _Site:
    """One node of one (possibly nested) graph, with its path prefix."""

    graph: keras.Model
    node: GraphNode
    prefix: str

    @property
    def op(self) -> Any:
        return self.node.operation

    @property
    def path(self) -> str:
        return self.prefix + self.op.name


class _Survey:
    """Every node of the model and of its nested models (each graph once), in run order."""

    def __init__(self, model: keras.Model) -> None:
        self.sites: list[_Site] = []
        self.calls: dict[int, int] = {}
        self.consumers: dict[int, list[Any]] = {}
        self.outputs: set[int] = set()
        self._graphs: dict[int, keras.Model] = {}
        self._names: dict[int, set[str]] = {}
        self._visit(graph_of(model), "")

    def _visit(self, graph: keras.Model, prefix: str) -> None:
        self._graphs[id(graph)] = graph
        self.outputs.update(id(t) for t in graph.outputs)
        for node in nodes_in_order(graph):
            for tensor in node.input_tensors:
                self.consumers.setdefault(id(tensor), []).append(node)
            op = node.operation
            self.calls[id(op)] = self.calls.get(id(op), 0) + 1
            self.sites.append(_Site(graph, node, prefix))
            inner = inner_graph(op)
            if inner is not None and id(inner) not in self._graphs:
                self._visit(inner, prefix + op.name + "/")

    def unique_sites(self) -> Iterator[_Site]:
        """The first call of each operation."""
        seen: set[int] = set()
        for site in self.sites:
            if id(site.op) not in seen:
                seen.add(id(site.op))
                yield site

    def taken(self, graph: keras.Model) -> set[str]:
        """The layer names in use in ``graph`` (new names are added as they are made)."""
        if id(graph) not in self._names:
            self._names[id(graph)] = {op.name for op in _operations(graph)}
        return self._names[id(graph)]


def graph_of(model: keras.Model) -> keras.Model:
    """The functional graph behind ``model`` (a Sequential's inner graph), or an error."""
    graph = functional_graph(model)
    if isinstance(model, keras.Sequential) and graph is None:
        raise ConvcostError("The Sequential model is not built; start it with keras.Input "
                            f"or build it first. Received: model {model.name!r} unbuilt.")
    if graph is None:
        raise ConvcostError("Only functional and Sequential models can be rewritten (a "
                            "subclassed model has no static graph). Received: "
                            f"{type(model).__name__}.")
    return graph


def _operations(graph: keras.Model) -> Iterator[Any]:
    for node in nodes_in_order(graph):
        yield node.operation
    yield from (producer(x) for x in graph.inputs)


# --- choosing layers --------------------------------------------------------------------------


def _matcher(pattern: str | None, survey: _Survey) -> Callable[[_Site], bool]:
    """A predicate on sites for the ``layers`` pattern; an error if it matches no layer."""
    if pattern is None:
        return lambda site: True
    try:
        regex: re.Pattern[str] | None = re.compile(pattern)
    except re.error:
        regex = None

    def matches(site: _Site) -> bool:
        return any(fnmatch.fnmatchcase(text, pattern) or bool(regex and regex.fullmatch(text))
                   for text in (site.op.name, site.path))

    if not any(matches(site) for site in survey.sites):
        names = ", ".join(site.path for site in list(survey.unique_sites())[:5])
        raise ConvcostError(f"The layers pattern matches no layer of the model (layers are "
                            f"e.g. {names}, ...). Received: {pattern!r}.")
    return matches


def _first_conv(survey: _Survey) -> Any:
    """The first Conv2D with a kernel larger than 1×1, in execution order (or None)."""
    for site in survey.unique_sites():
        if isinstance(site.op, keras.layers.Conv2D) and tuple(site.op.kernel_size) != (1, 1):
            return site.op
    return None


def _separate_reason(op: Any, is_kept_first: bool) -> str:
    """Why ``op`` is not separated ('' when it is eligible)."""
    if type(op) is not keras.layers.Conv2D:
        if isinstance(op, keras.layers.Conv2D):
            return f"{type(op).__name__} subclasses Conv2D (its behaviour may differ)"
        return f"{type(op).__name__}: only Conv2D is separated"
    if op.groups > 1:
        return f"grouped conv (groups={op.groups})"
    if tuple(op.kernel_size) == (1, 1):
        return "1x1 kernel (already pointwise)"
    if is_kept_first:
        return "first k×k conv, kept by default (include_first / --include-first)"
    return ""


def _merge_chain(site: _Site, survey: _Survey) -> tuple[list[_Site], str]:
    """(depthwise, in-between layers..., 1×1 conv) from ``site``, or ([], reason)."""
    dw = site.op
    if type(dw) is not keras.layers.DepthwiseConv2D:
        return [], f"{type(dw).__name__}: only DepthwiseConv2D + 1x1 Conv2D pairs are merged"
    chain = [site]
    while True:
        link = chain[-1]
        reason = _single_use(link, survey)
        if reason:
            return [], reason
        node = survey.consumers[id(link.node.outputs[0])][0]
        nxt = _Site(link.graph, node, link.prefix)
        if _is_plain_pointwise(nxt.op, dw):
            reason = _shape_reason(dw, nxt, site) or _shared(nxt.op, survey)
            return [*chain, nxt], reason
        if not isinstance(nxt.op, _BETWEEN):
            return [], (f"followed by {nxt.op.name} ({type(nxt.op).__name__}), not a 1x1 "
                        "Conv2D with strides 1")
        chain.append(nxt)


def _single_use(link: _Site, survey: _Survey) -> str:
    """Why the chain cannot continue past ``link`` ('' when it feeds exactly one layer)."""
    op = link.op
    if _shared(op, survey):
        return _shared(op, survey)
    if len(link.node.outputs) != 1 or id(link.node.outputs[0]) in survey.outputs:
        return f"the output of {op.name} is a model output"
    users = survey.consumers.get(id(link.node.outputs[0]), [])
    if len(users) != 1:
        return f"the output of {op.name} feeds {len(users)} layers"
    return ""


def _shared(op: Any, survey: _Survey) -> str:
    calls = survey.calls[id(op)]
    return f"{op.name} is shared (called {calls} times)" if calls > 1 else ""


def _is_plain_pointwise(op: Any, dw: Any) -> bool:
    return (type(op) is keras.layers.Conv2D and tuple(op.kernel_size) == (1, 1)
            and tuple(op.strides) == (1, 1) and tuple(op.dilation_rate) == (1, 1)
            and op.groups == 1 and op.data_format == dw.data_format)


def _shape_reason(dw: Any, pw: _Site, dw_site: _Site) -> str:
    """'' when a conv with the depthwise's geometry gives the 1×1 conv's output shape."""
    probe = keras.layers.Conv2D(pw.op.filters, dw.kernel_size, strides=dw.strides,
                                padding=dw.padding, data_format=dw.data_format,
                                dilation_rate=dw.dilation_rate)
    shape = tuple(probe.compute_output_shape(tuple(dw_site.node.input_tensors[0].shape)))
    wanted = tuple(pw.node.outputs[0].shape)
    if shape != wanted:
        return f"merging would change the output shape from {wanted} to {shape}"
    return ""


# --- building the replacement layers ----------------------------------------------------------


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_1``, ``name_2`` ... if taken; the result is added to ``taken``."""
    candidate, index = name, 0
    while candidate in taken:
        index += 1
        candidate = f"{name}_{index}"
    taken.add(candidate)
    return candidate


def _bias_and_dtype(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("data_format", "activation", "use_bias", "bias_initializer", "bias_regularizer",
            "bias_constraint", "trainable", "dtype")
    return {key: config[key] for key in keys}


def _separable_pair(conv: Any, taken: set[str]) -> list[Any]:
    """DepthwiseConv2D (the conv's geometry) + 1×1 Conv2D (its filters); both keep its
    activation and bias, as in MobileNet v1 and the article. The 1×1 conv uses padding 'same'."""
    config = conv.get_config()
    common = _bias_and_dtype(config)
    depthwise = keras.layers.DepthwiseConv2D(
        config["kernel_size"], strides=config["strides"], padding=config["padding"],
        dilation_rate=config["dilation_rate"], depth_multiplier=1,
        depthwise_initializer=config["kernel_initializer"],
        depthwise_regularizer=config["kernel_regularizer"],
        depthwise_constraint=config["kernel_constraint"],
        name=unique_name(f"{conv.name}_dw", taken), **common)
    pointwise = keras.layers.Conv2D(
        config["filters"], 1, padding="same", kernel_initializer=config["kernel_initializer"],
        kernel_regularizer=config["kernel_regularizer"],
        kernel_constraint=config["kernel_constraint"],
        activity_regularizer=config["activity_regularizer"],
        name=unique_name(f"{conv.name}_pw", taken), **common)
    return [depthwise, pointwise]


def _merged_conv(chain: list[_Site], taken: set[str]) -> Any:
    """One k×k Conv2D: the depthwise's geometry, the 1×1 conv's filters, activation, bias."""
    dw, pw = chain[0].op.get_config(), chain[-1].op.get_config()
    stem = dw["name"][:-3]
    name = stem if dw["name"].endswith("_dw") and pw["name"] == f"{stem}_pw" else (
        f"{pw['name']}_merged")
    return keras.layers.Conv2D(
        pw["filters"], dw["kernel_size"], strides=dw["strides"], padding=dw["padding"],
        dilation_rate=dw["dilation_rate"], kernel_initializer=pw["kernel_initializer"],
        kernel_regularizer=pw["kernel_regularizer"], kernel_constraint=pw["kernel_constraint"],
        activity_regularizer=pw["activity_regularizer"],
        name=unique_name(name, taken), **_bias_and_dtype(pw))


# --- the plan and the rebuild -----------------------------------------------------------------


@dataclass
class _Plan:
    """Which operations get new layers, which are dropped, and the log entries."""

    action: str
    model: str
    new: dict[int, list[Any]] = field(default_factory=dict)
    drop: set[int] = field(default_factory=set)
    replaced: list[Replacement] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, site: _Site, reason: str) -> None:
        self.skipped.append(Skip(site.path, type(site.op).__name__, reason))

    def replace(self, site: _Site, layers: list[Any]) -> None:
        self.new[id(site.op)] = layers
        self.replaced.append(Replacement(site.path, (site.op.name,),
                                         tuple(layer.name for layer in layers)))

    def merge(self, chain: list[_Site], conv: Any) -> None:
        self.drop.update(id(link.op) for link in chain[:-1])
        self.new[id(chain[-1].op)] = [conv]
        self.replaced.append(Replacement(chain[0].prefix + conv.name,
                                         tuple(link.op.name for link in chain), (conv.name,)))


def _finish(model: keras.Model, plan: _Plan, notes: list[str],
            unsafe: bool) -> tuple[keras.Model, RewriteLog]:
    log = RewriteLog(plan.action, plan.model, tuple(plan.replaced), tuple(plan.skipped),
                     tuple(notes))
    if not plan.replaced:
        raise ConvcostError(f"No eligible layer to {plan.action}: {_why_none(log)}. "
                            f"Received: model {plan.model!r}.")
    try:
        with deserialization(safe_mode=not unsafe):
            return _Rebuild(plan).model(model), log
    except ConvcostError:
        raise
    except Exception as error:  # Keras refused the rebuilt graph
        text = one_line(error)
        raise ConvcostError(f"Could not rebuild the model after the {plan.action}: "
                            f"{type(error).__name__}: {text} "
                            f"Received: model {plan.model!r}.") from None


def _why_none(log: RewriteLog) -> str:
    groups = log.skipped_by_reason()
    if not groups:
        kind = "Conv2D" if log.action == "separate" else "DepthwiseConv2D"
        return f"the model has no {kind} to consider"
    return "; ".join(f"{', '.join(paths)}: {reason}" for reason, paths in groups.items())


class _Rebuild:
    """Runs the original graph again on new inputs, calling clones or the planned layers."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.ops: dict[int, list[Any]] = {}
        self.weighted: set[int] = set()

    def model(self, model: keras.Model) -> keras.Model:
        graph = graph_of(model)
        inputs = [_clone_input(x) for x in graph.inputs]
        tensors = {id(x): y for x, y in zip(graph.inputs, inputs)}
        called: list[Any] = []
        for node in nodes_in_order(graph):
            self._run(node, tensors, called)
        if isinstance(model, keras.Sequential):
            first = producer(inputs[0])
            new = keras.Sequential([first, *called], name=model.name)
        else:
            new = keras.Model(keras.tree.pack_sequence_as(graph.input, inputs),
                              keras.tree.map_structure(lambda t: tensors[id(t)], graph.output),
                              name=model.name)
        new.trainable = model.trainable
        return new

    def _run(self, node: Any, tensors: dict[int, Any], called: list[Any]) -> None:
        if any(id(x) not in tensors for x in node.input_tensors):
            return  # not computable from the inputs, as Functional skips it
        args, kwargs = node.arguments(tensors)
        op = node.operation
        if id(op) in self.plan.drop:
            outputs = args[0]
        else:
            layers = self._new_ops(op)
            outputs = layers[0](*args, **kwargs)
            for layer in layers[1:]:
                outputs = layer(outputs)
            called.extend(layers)
            self._copy_weights(op, layers[0])
        for old, new in zip(node.outputs, keras.tree.flatten(outputs)):
            tensors[id(old)] = new

    def _new_ops(self, op: Any) -> list[Any]:
        if id(op) not in self.ops:
            if id(op) in self.plan.new:
                self.ops[id(op)] = self.plan.new[id(op)]
                self.weighted.add(id(op))  # fresh layers keep their initial weights
            elif inner_graph(op) is not None:
                self.ops[id(op)] = [self.model(op)]
                self.weighted.add(id(op))  # the inner rebuild copied its weights
            else:
                self.ops[id(op)] = [op.__class__.from_config(op.get_config())]
        return self.ops[id(op)]

    def _copy_weights(self, op: Any, clone: Any) -> None:
        if id(op) in self.weighted:
            return
        self.weighted.add(id(op))
        if isinstance(op, keras.layers.Layer) and op.weights:
            clone.set_weights(op.get_weights())


def _clone_input(tensor: Any) -> Any:
    layer = producer(tensor)
    return layer.__class__.from_config(layer.get_config()).output
