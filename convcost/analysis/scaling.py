"""A model as a family over its free input sizes: the samplers ``analyze --symbolic`` needs.

:func:`convcost.theory.model.derive` turns a sampler (sizes -> Report) into exact polynomials;
this module makes the samplers from what a user names, without the theory knowing Keras:

* a **zoo model**: ``sample`` builds it once (at the first sizes asked, shape-only) and
  re-shapes it through the walker; ``check`` builds it afresh at each size, as
  ``convcost analyze NAME --input-shape H,W,C`` does, so the proof is against the real thing;
* a **Keras model** (a file, or one built by the caller): both re-shape it through
  ``analyze(model, input_shape=...)``, as ``--input-shape`` does for a file.

The free sizes follow the input's rank (per sample): ``(L,)`` token ids -> ``L``; ``(L, F)``
a sequence of features -> ``L``; ``(H, W, C)`` -> ``H, W``; ``(D, H, W, C)`` -> ``D, H, W``.
Builds run inside :func:`shape_only`: no weight is allocated, whatever the size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost import checks
from convcost.count.report import Report
from convcost.count.scope import shape_only
from convcost.errors import ConvcostError
from convcost.models.loader import Request, max_positions

Sampler = Callable[[Mapping[str, int]], Report]

#: Free size symbols by the rank of one input sample.
NAMES_BY_RANK = {1: ("L",), 2: ("L",), 3: ("H", "W"), 4: ("D", "H", "W")}


@dataclass(frozen=True)
class Family:
    """A model over its free input sizes: the analysed report and the two samplers.

    Args:
        names: the free size symbols, e.g. ``("H", "W")``.
        report: the report at the analysed size.
        sample: sizes -> Report, fast (re-shapes one built model).
        check: sizes -> Report, faithful (what ``analyze`` at those sizes gives).
        maximum: the largest size a symbol may take, where the model has one.
    """

    names: tuple[str, ...]
    report: Report
    sample: Sampler
    check: Sampler
    maximum: Mapping[str, int] | None = None


def free_names(shape: Sequence[int | None], dtype: str, model: str) -> tuple[str, ...]:
    """The free size symbols of a single input of per-sample ``shape`` and ``dtype``."""
    rank = len(shape)
    if rank == 1 and "int" not in dtype:
        raise ConvcostError(
            f"--symbolic needs an input with a free size (an image H×W×C, a volume, or a "
            f"sequence of L tokens or vectors); {model!r} takes a flat vector of features. "
            f"Received: input shape {tuple(shape)}, dtype {dtype}.")
    if rank not in NAMES_BY_RANK:
        raise ConvcostError(f"--symbolic handles inputs of rank 1 to 4 per sample. Received: "
                            f"input shape {tuple(shape)} of {model!r}.")
    return NAMES_BY_RANK[rank]


def input_shape(names: Sequence[str], sizes: Mapping[str, int],
                fixed: Sequence[int | None]) -> tuple[int, ...]:
    """The per-sample input shape at ``sizes``: the free axes set, the others (channels) kept.

    Args:
        names: the free size symbols, in the order of the input's leading axes.
        sizes: a size for each name.
        fixed: the model's own per-sample input shape (its trailing axes are kept).
    """
    tail = tuple(fixed[len(names):])
    if any(d is None for d in tail):
        raise ConvcostError(f"The input's channel (last) size must be known for --symbolic. "
                            f"Received: input shape {tuple(fixed)}.")
    return (*(int(sizes[n]) for n in names), *(int(d) for d in tail))  # type: ignore[arg-type]


def model_family(model: Any, *, input_shape_: Any = None, name: str | None = None,
                 names: Sequence[str] | None = None,
                 shape_of: Callable[[Mapping[str, int]], Any] | None = None,
                 maximum: Mapping[str, int] | None = None,
                 conventions: Mapping[str, str] | None = None) -> Family:
    """A Keras model re-shaped through the walker at every size.

    Args:
        model: a built Keras model.
        input_shape_: the analysed size (one sample, no batch); default: the model's own.
        name: the name in the report.
        names: the free size symbols; default: from the input's rank (one input only).
        shape_of: sizes -> what ``analyze(model, input_shape=...)`` takes at those sizes;
            default: the input shape with the free axes set (:func:`input_shape`). A model with
            several inputs (token ids and a padding mask) passes its own.
        maximum: the largest size of a symbol (a model's longest sequence), if any.
        conventions: the walker's counting conventions (``attention``, ``moe``).
    """
    from convcost.count.walker import analyze

    _check_model(model)
    walk: dict[str, Any] = dict(conventions or {})

    tokens = _token_inputs(model) if names is None or shape_of is None else []
    if tokens:
        names, shape_of = ("L",), _all_tokens(tokens)
        if isinstance(input_shape_, Sequence) and len(input_shape_) == 1:
            input_shape_ = shape_of({"L": int(input_shape_[0])})
        maximum = maximum or _limit(max_positions(model))
    report = analyze(model, input_shape=input_shape_, name=name, **walk)
    if names is None or shape_of is None:
        if len(getattr(model, "inputs", None) or ()) > 1:
            raise ConvcostError(f"--symbolic takes a model with one input here. Received: "
                                f"{len(model.inputs)} inputs of {model.name!r}.")
        dtype = str(model.inputs[0].dtype) if getattr(model, "inputs", None) else "float32"
        names = names or free_names(report.input_shape, dtype, report.model)
        shape_of = shape_of or functools.partial(input_shape, names, fixed=report.input_shape)

    def sample(sizes: Mapping[str, int]) -> Report:
        shape = shape_of(sizes)
        with shape_only():
            # the walker refuses a shape the model's weights do not fit (a Dense after a Flatten)
            return analyze(model, input_shape=shape, name=name, **walk)

    return Family(tuple(names), report, sample, sample, maximum)


def family(asked: Request, *, attention: str = "executed", moe: str = "routed") -> Family:
    """The model ``asked`` names as a family over its free input sizes: a zoo text model over
    L, a zoo image model over H and W (rebuilt at each size to prove it), a file's model over
    the free sizes of its input."""
    from convcost.models import loader

    conventions = {"attention": attention, "moe": moe}
    spec = asked.spec
    loader.import_code(spec.imports)
    if asked.is_file:
        model = loader.resolve(asked).model
        length = (asked.seq_len,) if asked.seq_len else None
        return model_family(model, input_shape_=asked.file_shape or length,
                            conventions=conventions)
    if asked.seq_len is not None:
        return text_family(spec.source, seq_len=asked.seq_len, include_top=spec.include_top,
                           conventions=conventions)
    return zoo_family(spec.source, input_shape_=spec.input_shape, classes=spec.classes,
                      alpha=spec.alpha, include_top=spec.include_top, conventions=conventions)


def zoo_family(name: str, *, input_shape_: tuple[int, ...] | None = None,
               classes: int | None = None, alpha: float | None = None,
               include_top: bool = True, conventions: Mapping[str, str] | None = None
               ) -> Family:
    """A zoo model over H and W: fitted on one shape-only build, proven on fresh builds.

    Args:
        name: a zoo name, e.g. ``"mobilenet_v2"``.
        input_shape_: the analysed ``(H, W, C)``; default: the model's own.
        classes, alpha, include_top: as for :func:`convcost.models.zoo.build`.
        conventions: the walker's counting conventions (``attention``, ``moe``).
    """
    walk: dict[str, Any] = dict(conventions or {})
    from convcost.count.walker import analyze
    from convcost.models import zoo

    spec = zoo.entry(name)
    own = _one_shape(input_shape_) or spec.input_shape
    names = ("H", "W")

    def build(sizes: Mapping[str, int]) -> Any:
        return zoo.build(spec.name, input_shape=input_shape(names, sizes, own),
                         classes=classes, alpha=alpha, include_top=include_top)

    def check(sizes: Mapping[str, int]) -> Report:
        with shape_only():
            return analyze(build(sizes), **walk)

    built: list[Any] = []

    def sample(sizes: Mapping[str, int]) -> Report:
        with shape_only():
            if not built:
                built.append(build(sizes))
            return analyze(built[0], input_shape=input_shape(names, sizes, own), **walk)

    report = check(dict(zip(names, own)))
    return Family(names, report, sample, check)


def text_family(name: str, *, seq_len: int | None = None, include_top: bool = True,
                conventions: Mapping[str, str] | None = None) -> Family:
    """A zoo text model (a keras-hub transformer) over its sequence length ``L``.

    Its weights do not depend on ``L``, so one shape-only build serves every size: each token
    input (ids, padding mask) is set to ``L`` through the walker, as ``--seq-len L`` does. A
    model with learned positions (GPT-2, BERT) is exact only up to its ``max_sequence_length``.

    Args:
        name: a zoo text model, e.g. ``"gpt2"``.
        seq_len: the analysed length; default: the model's context length.
        include_top: keep the LM head (``False``: the backbone).
        conventions: the walker's counting conventions (``attention``, ``moe``).
    """
    from convcost.models import zoo

    if seq_len is not None:
        checks.count("seq_len", seq_len)
    spec = zoo.entry(name)
    if not spec.seq_len:
        raise ConvcostError(f"{spec.name!r} is not a text model. Received: {name!r}.")
    with shape_only():
        model = zoo.build(spec.name, include_top=include_top)
    shape_of = _all_tokens([x.name for x in model.inputs])
    return model_family(model, input_shape_=shape_of({"L": seq_len or spec.seq_len}),
                        name=spec.name, names=("L",), shape_of=shape_of, conventions=conventions,
                        maximum=_limit(max_positions(model)))


def _check_model(model: Any) -> None:
    import keras

    if not isinstance(model, keras.Model):
        raise ConvcostError(f"analyze_symbolic() takes a Keras model or a zoo name. "
                            f"Received: {type(model).__name__}.")


def _one_shape(shape: Any) -> tuple[int, ...] | None:
    """``shape`` checked as one input's sizes (or None), as :func:`convcost.analyze` checks."""
    from convcost.count.shapes import requested_shapes

    checked = requested_shapes(shape)
    if isinstance(checked, dict):
        raise ConvcostError(f"input_shape of a zoo model is one shape, e.g. (224, 224, 3). "
                            f"Received: {shape!r}.")
    return checked


def _token_inputs(model: Any) -> list[str]:
    """The input names of a model with several inputs that all are token sequences (integer
    ids or boolean masks, one axis per sample), as keras-hub backbones take; else []."""
    inputs = list(getattr(model, "inputs", None) or ())
    tokens = [x.name for x in inputs if len(x.shape) == 2
              and ("int" in str(x.dtype) or "bool" in str(x.dtype))]
    return tokens if len(inputs) > 1 and len(tokens) == len(inputs) else []


def _all_tokens(names: Sequence[str]) -> Callable[[Mapping[str, int]], dict[str, tuple[int]]]:
    """sizes -> every token input ``names`` at length ``L``."""
    def shape_of(sizes: Mapping[str, int]) -> dict[str, tuple[int]]:
        return {name: (int(sizes["L"]),) for name in names}

    return shape_of


def _limit(longest: int | None) -> dict[str, int] | None:
    return {"L": longest} if longest else None
