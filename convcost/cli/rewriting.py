"""What ``separate`` and ``merge`` share: check, obtain, rewrite, cost both, save, print.

Keras and :mod:`convcost.analysis.rewrite` are imported inside the call only. The output path
is checked before the model is built, and the file is written atomically (temp file +
replace), so a failure leaves nothing half-written.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer

from convcost.cli.app import load_keras
from convcost.cli.options import model_request
from convcost.cli.output import console_width, emit, use_color
from convcost.render.options import RenderOptions

OutputOpt = Annotated[str, typer.Option(
    "--output", "-o", help="Where to save the rewritten model (must end in .keras).",
    show_default=False, metavar="FILE")]
LayersOpt = Annotated[str | None, typer.Option(
    "--layers", help="Only layers whose name or path matches: a glob (conv_*) or a regular "
                     "expression matching the whole name (conv_[23]).", show_default=False,
    metavar="PATTERN")]


def rewrite(action: str, options: dict[str, Any], source: str, output: str,
            alpha: float | None, input_shape: str | None, classes: int | None,
            unsafe: bool, imports: list[str] | None = None) -> None:
    """Run ``convcost.analysis.rewrite.<action>(model, **options)`` and report it."""
    from convcost.files import check_output_path

    asked = model_request(source, input_shape, classes=classes, alpha=alpha, unsafe=unsafe,
                          imports=imports)
    check_output_path(output)
    load_keras()
    from convcost.analysis import rewrite as rewriting
    from convcost.count.walker import analyze
    from convcost.models import loader
    from convcost.render import rewrite as show

    guard = functools.partial(check_rewrite_fits, action)
    original = loader.resolve(asked, run=True, guard=guard).model
    new, log = getattr(rewriting, action)(original, unsafe=unsafe, **options)
    shape = asked.file_shape
    before, after = analyze(original, input_shape=shape), analyze(new, input_shape=shape)
    target = rewriting.save_model(new, output)
    shown = RenderOptions(width=console_width(), color=use_color())
    emit(show.render(show.Rewritten(log, before, after, str(target)), "table", shown), None)


def check_rewrite_fits(action: str, report: Any) -> None:
    """Refuse, before any weight is allocated, a rewrite whose model and rewritten copy cannot
    both be held in memory (``report``: the model counted on a shape-only build)."""
    from convcost.analysis.memory import dtype_bytes
    from convcost.measure.machine import check_memory

    params = int(report.keras_count_params)
    check_memory(2 * params * dtype_bytes("float32"), purpose=action,
                 parts="the model's float32 weights and the rewritten copy's",
                 received=f"{report.model!r}, {params:,} params")
