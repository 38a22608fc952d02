"""``convcost separate`` and ``convcost merge``: rewrite convs, save the model, show the cost.

Keras and :mod:`convcost.analysis.rewrite` are imported inside the commands only. The output path is
checked before the model is built, and the file is written atomically (temp file + replace),
so a failure leaves nothing half-written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import make_source

if TYPE_CHECKING:
    from convcost.analysis.rewrite import RewriteLog
    from convcost.count.report import Report

ModelArg = Annotated[str, typer.Argument(
    help="A zoo name (convcost zoo) or a .keras/.h5 file.", show_default=False)]
OutputOpt = Annotated[str, typer.Option(
    "--output", "-o", help="Where to save the rewritten model (must end in .keras).",
    show_default=False)]
LayersOpt = Annotated[str | None, typer.Option(
    "--layers", help="Only layers whose name or path matches: a glob (conv_*) or a regular "
                     "expression matching the whole name (conv_[23]).", show_default=False)]
AlphaOpt = Annotated[float | None, typer.Option(
    "--alpha", help="Width multiplier (zoo models that take one).", show_default=False)]
ShapeOpt = Annotated[str | None, typer.Option(
    "--input-shape", help="H,W,C: build a zoo model at this size, or cost a file model whose "
                          "input has unknown sizes.", show_default=False)]
ClassesOpt = Annotated[int | None, typer.Option(
    "--classes", help="Output classes (zoo models).", show_default=False)]
UnsafeOpt = Annotated[bool, typer.Option(
    "--unsafe", help="Load model files that carry Python code (Lambda); only files you trust.")]


@app.command("separate")
@domain_errors
def separate_command(model: ModelArg, output: OutputOpt, layers: LayersOpt = None,
                     include_first: Annotated[bool, typer.Option(
                         "--include-first", help="Also replace the first k×k conv.")] = False,
                     alpha: AlphaOpt = None, input_shape: ShapeOpt = None,
                     classes: ClassesOpt = None, unsafe: UnsafeOpt = False) -> None:
    """Replace standard k×k convs by depthwise + 1×1 convs (MobileNet v1) and save the model."""
    _rewrite("separate", {"include_first": include_first, "layers": layers},
             model, output, alpha, input_shape, classes, unsafe)


@app.command("merge")
@domain_errors
def merge_command(model: ModelArg, output: OutputOpt, layers: LayersOpt = None,
                  alpha: AlphaOpt = None, input_shape: ShapeOpt = None,
                  classes: ClassesOpt = None, unsafe: UnsafeOpt = False) -> None:
    """Replace depthwise + 1×1 conv pairs by standard k×k convs and save the model.

    Batch norm, activation and padding layers between a depthwise conv and its 1×1 conv are
    dropped (one standard conv replaces the pair); a ZeroPadding2D before the depthwise stays.
    """
    _rewrite("merge", {"layers": layers}, model, output, alpha, input_shape, classes, unsafe)


def _rewrite(action: str, options: dict[str, Any], source: str, output: str,
             alpha: float | None, input_shape: str | None, classes: int | None,
             unsafe: bool) -> None:
    """Check the options and output path (no TensorFlow yet), obtain the model, rewrite it with
    ``convcost.analysis.rewrite.<action>(model, **options)``, cost both, save, print."""
    from convcost.files import check_output_path

    spec = make_source(source, input_shape, classes=classes, alpha=alpha, unsafe=unsafe)
    check_output_path(output)
    load_keras()
    from convcost.analysis import rewrite
    from convcost.count.walker import analyze
    from convcost.models.loader import obtain

    original = obtain(spec.spec)
    new, log = getattr(rewrite, action)(original, **options)
    shape = spec.analyze_shape
    before, after = analyze(original, input_shape=shape), analyze(new, input_shape=shape)
    target = rewrite.save_model(new, output)
    console = Console(highlight=False)
    print_log(console, log)
    console.print(comparison_table(before, after))
    console.print(f"saved: {target}")


def print_log(console: Console, log: RewriteLog) -> None:
    """What was replaced, what was skipped (grouped by reason), and the notes."""
    console.print(f"[bold]{log.action} {log.model}[/]: {len(log.replaced)} replaced")
    for item in log.replaced:
        console.print(f"  {' + '.join(item.removed)} -> {' + '.join(item.added)}")
    for reason, paths in log.skipped_by_reason().items():
        console.print(f"  skipped {len(paths)} ({reason}): {', '.join(paths)}")
    for note in log.notes:
        console.print(f"  note: {note}")


def comparison_table(before: Report, after: Report) -> Table:
    """Params and MACs in total and per kind (kinds that are zero on both sides left out),
    before and after, with the ratio after/before."""
    table = Table(title="cost per sample", title_justify="left")
    for column in ("", "before", "after", "after/before"):
        table.add_column(column, justify="left" if not column else "right")
    after_groups = {group.key: group for group in after.groups("kind")}
    for measure in ("params", "macs"):
        table.add_row(*_row(measure.replace("macs", "MACs"), getattr(before, measure),
                            getattr(after, measure)), style="bold")
        for group in before.groups("kind"):
            old, new = getattr(group, measure), getattr(after_groups[group.key], measure)
            if old or new:
                table.add_row(*_row(f"  {group.key}", old, new))
    return table


def _row(label: str, before: int, after: int) -> tuple[str, str, str, str]:
    ratio = f"{after / before:.3f}" if before else "-"
    return label, f"{before:,}", f"{after:,}", ratio
