"""``analyze FILE.tflite``: one row per op of a TFLite flatbuffer, read without TensorFlow;
``--against MODEL`` loads or builds the Keras model it came from and compares them kind by
kind (exit 1 when they disagree, after the output)."""

from __future__ import annotations

from convcost.cli.analyze.args import AnalyzeArgs
from convcost.cli.analyze.shared import counted, render_options
from convcost.cli.options import model_request
from convcost.cli.output import emit
from convcost.errors import ConvcostError

ACCEPTS = frozenset({"strict", "group_by", "batch_size", "flops", "depth", "against"})
REFUSAL = "{flag} applies to Keras models, not to a .tflite file"


def applies(args: AnalyzeArgs) -> bool:
    from convcost.models.loader import is_tflite

    return is_tflite(args.model)


def run(args: AnalyzeArgs) -> None:
    """Count the file's ops; compare with ``--against``; render, write."""
    from convcost.analysis import strict
    from convcost.analysis.tflite import check_against
    from convcost.count.tflite import analyze_tflite
    from convcost.render import tflite as show

    options = render_options(args)
    analysis = analyze_tflite(args.model)
    check = None
    if args.against is not None:
        _, keras_report = counted(model_request(args.against, None, imports=args.imports))
        check = check_against(analysis, keras_report)
    if args.strict:
        strict.check_tflite(analysis.report, args.model)
    emit(show.render(show.TfliteResult(analysis, check), args.fmt, options), args.output)
    if check is not None and not check.ok:
        raise ConvcostError(f"The .tflite file and the Keras model disagree (see above: "
                            f"unexplained params {check.unexplained_params:,}, MACs equal: "
                            f"{check.macs_match}). Received: {args.model!r} against "
                            f"{args.against!r}.")
