"""``convcost verify``: convcost's counts next to TensorFlow's profiler, layer by layer.

Exit status 0 when every conv/dense layer agrees exactly (profiler FLOPs = 2 x MACs), 1 with a
one-line summary on stderr otherwise. TensorFlow is imported only when the command runs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.errors import ConvcostError

FORMATS = ("table", "json")

ModelArg = Annotated[str, typer.Argument(
    help="A zoo name (see 'convcost zoo') or a .keras/.h5 file.", show_default=False)]
InputShape = Annotated[str | None, typer.Option(
    "--input-shape", help="Sizes of one sample, e.g. 224,224,3 (default: the model's own).",
    show_default=False)]
Format = Annotated[str, typer.Option("--format", help="table or json.")]
Unsafe = Annotated[bool, typer.Option(
    "--unsafe", help="Load a .keras file with Python code (Lambda layers); trust it first.")]

CONVENTIONS = (
    "Compared: TF's Conv2D/Conv3D/DepthwiseConv2dNative/MatMul/BatchMatMul/"
    "Conv2DBackpropInput FLOPs (= 2 x multiply-accumulates) against 2 x convcost MACs.",
    "Not judged (different conventions): TF counts biases as BiasAdd, batch norm lowered to "
    "Mul/AddV2/Sub/Rsqrt (incl. per-channel folding), global pooling as Mean, pooling as "
    "MaxPool/AvgPool, Softmax; it has no FLOPs for Relu/Sigmoid/Tanh, Einsum or loops. "
    "convcost's other FLOPs: 1 per bias or activation output, 2 per batch-norm element, "
    "3 per softmax element, window size per pooled element, n - 1 per element of an n-input "
    "merge.",
)


@app.command("verify")
@domain_errors
def verify_command(model: ModelArg, input_shape: InputShape = None, format: Format = "table",
                   unsafe: Unsafe = False) -> None:
    """Cross-check convcost with TensorFlow's graph profiler on the same model and input."""
    if format not in FORMATS:
        raise ConvcostError(f"--format must be one of {', '.join(FORMATS)}. "
                            f"Received: {format!r}.")
    from convcost.cli.options import make_source

    source = make_source(model, input_shape, unsafe=unsafe)
    result = _run(source)
    if format == "json":
        typer.echo(json.dumps(to_json(result), indent=2))
    else:
        _print_table(result)
    if not result.agree:
        stderr.print(f"[bold red]disagree:[/] {result.summary()}", markup=True)
        raise typer.Exit(1)


def _run(source: Any) -> Any:
    load_keras()
    from convcost.analysis.verify import verify
    from convcost.models.loader import obtain

    return verify(obtain(source.spec), input_shape=source.analyze_shape)


def to_json(result: Any) -> dict[str, Any]:
    """The comparison as plain data: exact integers, statuses and explanations."""
    report = result.report
    return {
        "model": result.model,
        "input_shape": list(result.input_shape),
        "agree": result.agree,
        "summary": result.summary(),
        "convcost": {"params": report.params, "macs": report.macs, "flops": report.flops},
        "profiler_total_flops": result.profiler_total_flops,
        "seconds": round(result.seconds, 3),
        "layers": [_row_json(row) for row in result.layers],
        "tf_op_types_outside_macs": op_types_by_layer_type(result),
        "notes": list(result.notes),
        "conventions": list(CONVENTIONS),
    }


def _row_json(row: Any) -> dict[str, Any]:
    return {
        "path": row.path, "type": row.type, "calls": row.calls, "checked": row.checked,
        "macs": row.macs, "convcost_mac_flops": 2 * row.macs,
        "profiler_mac_flops": row.profiler_mac_flops, "status": row.status,
        "explanation": row.explanation, "other_flops": row.other_flops,
        "profiler_other": dict(row.profiler_other), "uncounted_ops": list(row.uncounted),
    }


_STYLE = {"agree": "green", "differs": "red", "not seen": "yellow", "no MACs": "dim"}


def _print_table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.model} {result.input_shape}: convcost vs TensorFlow profiler",
                  title_justify="left")
    for column in ("layer", "type", "calls", "2 x MACs", "TF MAC FLOPs", "status",
                   "other FLOPs", "TF other FLOPs"):
        table.add_column(column, justify="left" if column in ("layer", "type", "status")
                         else "right")
    for row in result.layers:
        style = _STYLE[row.status] if row.checked or row.failing else "dim"
        table.add_row(row.path, row.type, str(row.calls), f"{2 * row.macs:,}",
                      f"{row.profiler_mac_flops:,}", f"[{style}]{row.status}[/]",
                      f"{row.other_flops:,}", f"{row.profiler_other_flops:,}")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print(result.summary(), highlight=False)
    console.print(f"Totals: convcost {result.report.flops:,} FLOPs (2 x {result.report.macs:,} "
                  f"MACs + other), TF profiler {result.profiler_total_flops:,} FLOPs; "
                  f"{result.seconds:.1f} s.", highlight=False)
    for line in _differences(result):
        console.print(f"- {line}", highlight=False)
    console.print("TF op types outside MACs, by layer type:", highlight=False)
    for kind, types in op_types_by_layer_type(result).items():
        console.print(f"  {kind}: {', '.join(types)}", highlight=False)
    for line in (*CONVENTIONS, *result.notes):
        console.print(f"- {line}", highlight=False)


def _differences(result: Any) -> list[str]:
    return [f"{row.path} ({row.type}) {row.status}: {row.explanation}"
            for row in result.layers if row.explanation]


def op_types_by_layer_type(result: Any) -> dict[str, list[str]]:
    """The TF op types (with FLOPs, outside the MAC ops) each Keras layer type lowers to."""
    found: dict[str, set[str]] = {}
    for row in result.layers:
        kinds = [kind for kind, _ in row.profiler_other] + list(row.uncounted)
        if kinds:
            found.setdefault(row.type, set()).update(kinds)
    return {kind: sorted(types) for kind, types in sorted(found.items())}
