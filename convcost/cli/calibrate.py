"""``convcost calibrate``: time single kernels on this machine and fit the latency predictor
that ``convcost predict`` uses (see :mod:`convcost.measure.calibrate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.device import device_or_probe
from convcost.cli.options import BatchSize, PredictRuntime, Threads, check_count
from convcost.cli.output import emit
from convcost.errors import ConvcostError


@app.command("calibrate")
@domain_errors
def calibrate_command(
    runtime: PredictRuntime = "litert",
    threads: Threads = 1,
    batch_size: BatchSize = 1,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to save the latency profile (default: beside the device "
                               "profile, ~/.config/convcost/latency-RUNTIME-tN-bB.json).",
        show_default=False, metavar="FILE")] = None,
    budget: Annotated[float, typer.Option(
        help="Seconds to spend measuring (about; fitting comes on top).",
        metavar="SECONDS")] = 600.0,
    kinds: Annotated[str | None, typer.Option(
        help="Only these kernel kinds, a comma list (e.g. conv,depthwise; default all).",
        show_default=False, metavar="KIND[,KIND]")] = None,
    extend: Annotated[bool, typer.Option(
        "--extend", help="Keep the samples of the saved profile (--output) and add to them: "
                         "more samples where the predictor is weak.")] = False,
    clock: Annotated[Literal["auto", "wall", "cpu"], typer.Option(
        help="What a kernel's time is: elapsed (wall) or this process's CPU seconds (cpu: "
             "not inflated by other processes on a busy machine; with 1 thread, the work "
             "itself). auto: cpu on 1 thread, else wall. 'predict --check' "
             "measures with the same clock.")] = "auto",
) -> None:
    """Measure single kernels (convs, depthwise, pointwise, dense, pooling, add, concat,
    activations, pad, reshape) on this machine and fit one predictor per kernel kind."""
    from convcost.analysis import latency

    check_count("--threads", threads)
    check_count("--batch-size", batch_size)
    if not budget > 0:
        raise typer.BadParameter(f"must be positive. Received: {budget}.", param_hint="--budget")
    latency.require_sklearn()
    chosen = _kinds(kinds)
    target = output or latency.default_path(runtime, threads, batch_size)
    earlier = (latency.load(target, command=latency.calibrate_command(runtime, threads,
                                                                      batch_size))
               if extend else None)
    _start_runtime(runtime, threads)
    from convcost.measure.calibrate import Setting

    if clock == "auto":
        clock = earlier.clock if earlier else "cpu" if threads == 1 else "wall"  # type: ignore[assignment]
    profile = _measure(Setting(runtime, threads, batch_size, clock), budget, chosen, earlier)
    target = latency.save(profile, target)
    from convcost.render.calibrate import summary

    emit(summary(latency.to_json(profile, "", "", "")) + f"saved to  {target}\n", None)


def _measure(setting: Any, budget: float, kinds: tuple[str, ...], earlier: Any) -> Any:
    """Calibrate under a progress bar; the profile with its provenance."""
    from convcost.measure.calibrate import calibrate

    device = earlier.device if earlier else device_or_probe()
    with _progress() as bar:
        task = bar.add_task("calibrating", total=1000)
        profile = calibrate(setting, device, budget_s=budget, kinds=kinds, extend=earlier,
                            progress=lambda what, share: bar.update(
                                task, completed=int(share * 1000), description=what))
    profile.meta.update(_provenance(setting.runtime))
    return profile


def _kinds(text: str | None) -> tuple[str, ...]:
    from convcost.analysis.kernels import KINDS

    if text is None:
        return KINDS
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    wrong = [kind for kind in chosen if kind not in KINDS]
    if wrong or not chosen:
        raise ConvcostError(f"Unknown kernel kind; use {', '.join(KINDS)}. Received: "
                            f"--kinds {text!r}.")
    return chosen


def _start_runtime(runtime: str, threads: int) -> None:
    load_keras()
    from convcost.measure.runtimes import TF_THREADED, require, set_tf_threads

    require(runtime)
    if runtime in TF_THREADED:
        set_tf_threads(threads)


def _progress() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<32}"), BarColumn(), TimeElapsedColumn(),
                    console=stderr, transient=True)


def _provenance(runtime: str) -> dict[str, Any]:
    import time

    import sklearn

    from convcost import __version__
    from convcost.measure.machine import installed_version, machine_info, machine_name

    info = machine_info()
    versions = {"convcost": __version__, "tensorflow": info["tensorflow"],
                "keras": info["keras"], "sklearn": sklearn.__version__}
    if runtime.startswith("litert"):
        versions["ai-edge-litert"] = installed_version("ai-edge-litert")
    return {"machine": {"name": machine_name(), **info}, "versions": versions,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg": _loadavg()}


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"
