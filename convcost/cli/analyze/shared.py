"""What the modes of ``analyze`` share: the table's options, the model request the options
make, and obtaining and counting a model (with ``--strict``'s findings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.cli.analyze.args import AnalyzeArgs
from convcost.cli.app import load_keras
from convcost.cli.options import check_count, model_request
from convcost.cli.output import check_output_dir, console_width, use_color

if TYPE_CHECKING:
    from convcost.count.report import Report
    from convcost.render import RenderOptions


def render_options(args: AnalyzeArgs) -> RenderOptions:
    """The table's options, checked, and the output's folder checked before any work."""
    from convcost import render

    check_count("--batch-size", args.batch_size)
    check_count("--depth", args.depth, minimum=0)
    check_output_dir(args.output)
    return render.RenderOptions(args.group_by, args.batch_size, args.flops, args.depth,
                                console_width(args.output, args.width),
                                use_color(args.output))


def request_of(args: AnalyzeArgs) -> Any:
    """The :class:`convcost.models.loader.Request` the model options make."""
    return model_request(args.model, args.input_shape, classes=args.classes, alpha=args.alpha,
                         no_top=args.no_top, unsafe=args.unsafe, seq_len=args.seq_len,
                         imports=args.imports)


def counted(asked: Any, *, attention: str = "executed", moe: str = "routed",
            strict: bool = False) -> tuple[Any, Report]:
    """Obtain the model ``asked`` names and count it: ``(keras model, Report)``."""
    load_keras()
    from convcost.analysis import strict as findings
    from convcost.models import loader

    resolved = loader.resolve(asked)
    report = loader.count(resolved, attention=attention, moe=moe)
    if strict:
        findings.check(report)
        findings.check_positions(resolved)
    return resolved.model, report
