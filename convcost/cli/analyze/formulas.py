"""``analyze --symbolic`` / ``--sweep``: the model's cost as exact polynomials of its free input
sizes, and counts across sizes next to the formula.

The model comes as a family over its sizes (:func:`convcost.analysis.scaling.family`, with
the counting conventions ``--causal`` and ``--moe``); the formulas are derived and proven by
:func:`convcost.theory.model.derive`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convcost.cli.analyze.args import AnalyzeArgs, flag
from convcost.cli.analyze.shared import render_options, request_of
from convcost.cli.app import load_keras
from convcost.cli.output import check_output_dir, emit
from convcost.count.report import Report
from convcost.errors import ConvcostError

ACCEPTS = frozenset({"strict", "input_shape", "seq_len", "alpha", "classes", "no_top", "group_by",
                     "batch_size", "flops", "depth", "unsafe", "symbolic", "sweep", "plot",
                     "causal", "moe"})
REFUSAL = "{flag} does not combine with --symbolic or --sweep"
SWEEP_REFUSES = ("depth", "batch_size", "group_by")  # a sweep shows whole-model totals by kind


def applies(args: AnalyzeArgs) -> bool:
    return args.symbolic or args.sweep is not None or args.plot is not None


def run(args: AnalyzeArgs) -> None:
    """Derive the formulas (and run the sweep), render, write."""
    _check(args)
    options = render_options(args)
    family = _family(args)
    if args.strict:
        from convcost.analysis import strict

        strict.check(family.report)
    if args.sweep is None:
        _emit_formulas(family, args, options)
    else:
        _emit_sweep(family, args, options)


def _check(args: AnalyzeArgs) -> None:
    """One-line errors for combinations that mean nothing, before anything is built."""
    from convcost.theory.sweep import parse

    if args.fmt == "html":
        raise ConvcostError("--format html is a page of one model's layers; --symbolic and "
                            "--sweep give table, json, csv or markdown. Received: --format html.")
    if args.plot is not None and args.sweep is None:
        raise ConvcostError(f"--plot draws a sweep; add --sweep size=... or seq-len=... "
                            f"Received: --plot {str(args.plot)!r} alone.")
    if args.sweep is None:
        return
    parse(args.sweep)
    for name in SWEEP_REFUSES:
        value = getattr(args, name)
        if value not in (None, "layer"):
            raise ConvcostError(f"--sweep shows whole-model totals per kind; {flag(name)} does "
                                f"not apply. Received: {flag(name)} {value}.")
    if args.plot is not None:
        try:
            check_output_dir(args.plot)
        except ConvcostError as error:
            raise ConvcostError(str(error).replace("--output", "--plot", 1)) from None


def _family(args: AnalyzeArgs) -> Any:
    """The model as a family over its free input sizes (:class:`scaling.Family`)."""
    asked = request_of(args)
    load_keras()
    from convcost.analysis import scaling

    return scaling.family(asked, attention=args.attention, moe=args.moe)


def _emit_formulas(family: Any, args: AnalyzeArgs, options: Any) -> None:
    from convcost.render import symbolic

    text = symbolic.render(symbolic.Symbolic(family.report, _derive(family)), args.fmt, options)
    emit(text, args.output)


def _emit_sweep(family: Any, args: AnalyzeArgs, options: Any) -> None:
    from convcost.render import plots
    from convcost.render import sweep as show
    from convcost.theory import sweep as sweeps

    axis, values = sweeps.parse(args.sweep or "")
    # each size first: a size the model does not take fails before the slow derivation
    reports = {v: _at(family, sweeps.sizes_of(axis, family.names, v), axis) for v in values}
    data = sweeps.sweep(_derive(family), axis, reports)
    if args.plot is not None:
        plots.sweep_plot(data, Path(args.plot))
    emit(show.render(data, args.fmt, options), args.output)


def _derive(family: Any) -> Any:
    from convcost.theory import model as whole

    return whole.derive(family.sample, family.names, check=family.check,
                        model=family.report.model, base=family.report, maximum=family.maximum)


def _at(family: Any, sizes: dict[str, int], axis: str) -> Report:
    try:
        return family.check(sizes)
    except ConvcostError as error:
        value = next(iter(sizes.values()))
        reason = str(error).rstrip(".")
        raise ConvcostError(f"--sweep {axis}={value}: the model does not take this size: "
                            f"{reason}. Received: --sweep {axis}={value}.") from None
