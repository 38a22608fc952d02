"""``convcost bench``: forward latency of zoo nets next to their MACs and the matmul peak."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import Alpha, BenchFormat, Imports, ModelsArg, Repeats, Warmup, Width
from convcost.cli.output import console_width, emit, use_color
from convcost.models.zoo import ARTICLE_NETS
from convcost.render.options import RenderOptions


@app.command("bench")
@domain_errors
def bench_command(
    models: ModelsArg = None,
    batch_size: Annotated[int, typer.Option(help="Samples per forward call.", metavar="N")] = 64,
    repeats: Repeats = 30,
    warmup: Warmup = 3,
    alpha: Alpha = None,
    peak_size: Annotated[int, typer.Option(help="n of the n x n float32 peak matmul.",
                                           metavar="N")] = 2048,
    peak_repeats: Annotated[int, typer.Option(help="Timed peak matmuls (median kept).",
                                              metavar="N")] = 10,
    fmt: BenchFormat = "table",
    width: Width = None,
    as_json: Annotated[bool, typer.Option(
        "--json", hidden=True, help="Same as --format json (kept for old scripts).")] = False,
    runtime: Annotated[list[str] | None, typer.Option(
        help="tf, litert (LiteRT/XNNPACK fp32), litert-int8 (full-integer), jax or torch "
             "(Keras' backends, in a child process); repeat it or give a comma list for one "
             "table each.", show_default=False,
        metavar="NAME")] = None,
    threads: Annotated[str | None, typer.Option(
        help="Threads, e.g. 1 or 1,2 (LiteRT: one table each; default 1). For tf: its "
             "intra-op threads (default: TensorFlow's choice).", show_default=False,
        metavar="N[,N]")] = None,
    data: Annotated[Path | None, typer.Option(
        help="mnist.npz or IDX folder for int8 calibration and the accuracy of trained "
             "models (default: $CONVCOST_MNIST).", show_default=False, metavar="PATH")] = None,
    imports: Imports = None,
) -> None:
    """Forward latency of zoo nets or model files (compiled model(x, training=False)) next to
    their MACs.

    Also measures this machine's attainable GFLOP/s (median of a float32 matmul) and shows
    each model's achieved GFLOP/s as a share of it. With --runtime: one speed-up table per
    runtime (TensorFlow, LiteRT fp32/int8, JAX, torch), models given as .keras files (e.g. saved by
    'convcost train') also get their test accuracy on each runtime.
    """
    columns = console_width(None, width)
    names = models or list(ARTICLE_NETS)
    as_json = as_json or fmt == "json"
    code = tuple(imports or ())
    if runtime or threads is not None or data is not None:
        from convcost.cli.runtimes import bench_runtimes_command

        bench_runtimes_command(names, runtime or ["tf"], threads, data, batch_size=batch_size,
                               repeats=repeats, warmup=warmup, alpha=alpha,
                               peak=(peak_size, peak_repeats), as_json=as_json, width=columns,
                               imports=code)
        return
    text = _bench_models(names, code, batch_size=batch_size, repeats=repeats, warmup=warmup,
                         alpha=alpha, peak=(peak_size, peak_repeats),
                         fmt="json" if as_json else fmt, width=columns)
    emit(text, None)


def _bench_models(names: list[str], code: tuple[str, ...], *, batch_size: int, repeats: int,
                  warmup: int, alpha: float | None, peak: tuple[int, int], fmt: str,
                  width: int | None) -> str:
    """Time each model's compiled forward call on TensorFlow, next to the matmul peak."""
    from convcost.measure.sources import check_names

    check_names(names)
    load_keras()
    from convcost.models.loader import import_code

    import_code(code)
    from convcost.measure.bench import bench_models
    from convcost.measure.machine import machine_info
    from convcost.measure.probe import peak_matmul
    from convcost.measure.timing import compiled_call
    from convcost.render import bench as show

    rows = bench_models(names, batch_size=batch_size, repeats=repeats, warmup=warmup,
                        alpha=alpha)
    document = show.bench_document(rows, peak_matmul(*peak), machine_info(), compiled_call())
    return show.render(document, fmt, RenderOptions(width=width, color=use_color()))
