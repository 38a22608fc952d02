"""``convcost graph``: the model's graph with its costs, as SVG (graphviz) or DOT text."""

from __future__ import annotations

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.options import (
    Alpha,
    Classes,
    GraphFormat,
    Imports,
    InputShape,
    ModelArg,
    NoTop,
    Output,
    Unsafe,
    model_request,
)
from convcost.cli.output import check_output_dir, emit


@app.command("graph")
@domain_errors
def graph_command(
    model: ModelArg,
    input_shape: InputShape = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: GraphFormat = "svg",
    output: Output = None,
    unsafe: Unsafe = False,
    imports: Imports = None,
) -> None:
    """Draw MODEL's graph: one node per layer call, coloured by kind and sized by its share of
    the MACs; edges labelled with the shapes that flow along them.

    Open the SVG in a browser (hover a node for its exact numbers). Needs graphviz's 'dot'
    for svg (Debian/Ubuntu: apt-get install graphviz).
    """
    from convcost.render import graph

    check_output_dir(output)
    asked = model_request(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                          unsafe=unsafe, imports=imports)  # an unknown name first, then no dot
    if fmt == "svg":
        graph.check_dot()
    load_keras()
    from convcost.models import loader

    report = loader.count(loader.resolve(asked))
    emit(graph.render(report, fmt), output)
    if output is not None:
        stderr.print(f"wrote {output} ({len(report.layers)} layer calls)", markup=False)
