"""``convcost analyze`` and ``convcost compare``: cost tables of zoo models and model files.

Thin commands: parse and check the options (before TensorFlow is imported), obtain the model
(:mod:`convcost.loader`), analyze it (:mod:`convcost.walker`), render (:mod:`convcost.render`)
and write to stdout or, atomically, to ``--output``. Layer signatures for ``compare`` are
computed here, where the Keras model is at hand.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors
from convcost.errors import ConvcostError, UnsupportedLayerError

ModelArg = Annotated[str, typer.Argument(
    help="A zoo name (naive, v1, v2, mobilenet, resnet50, ...; see 'convcost zoo') or a "
         ".keras/.h5 file.", show_default=False)]
InputShape = Annotated[str | None, typer.Option(
    "--input-shape", help="H,W,C of one sample; rebuilds a zoo model, or re-shapes a file's "
                          "model where its layers allow it.", show_default=False)]
Alpha = Annotated[float | None, typer.Option(help="Width multiplier (zoo models that take one).",
                                             show_default=False)]
Classes = Annotated[int | None, typer.Option(help="Output classes of a zoo model.",
                                             show_default=False)]
NoTop = Annotated[bool, typer.Option("--no-top", help="Zoo model without its classifier.")]
Output = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write to this file (atomically) instead of stdout.",
    show_default=False)]
Unsafe = Annotated[bool, typer.Option(
    "--unsafe", help="Load a .keras file with Python code (Lambda layers); trust it first.")]


@dataclass(frozen=True)
class Source:
    """A model to obtain, and the input shape to hand to analyze() (files only)."""

    spec: Any  # convcost.loader.ModelSpec
    analyze_shape: tuple[int, ...] | None


# --- option parsing (no TensorFlow) ----------------------------------------------------------


def parse_input_shape(text: str | None, rank: int | None = None) -> tuple[int, ...] | None:
    """``"224,224,3"`` -> ``(224, 224, 3)``; ``None`` stays ``None``.

    Args:
        text: sizes separated by commas (``x`` also accepted), e.g. ``"28,28,1"``.
        rank: the number of sizes required, if known.
    """
    if text is None:
        return None
    parts = [p.strip() for p in re.split(r"[,x×]", text.strip())]
    if not all(re.fullmatch(r"[+-]?\d+", p) for p in parts):
        raise ConvcostError(f"--input-shape must be whole numbers separated by commas, e.g. "
                            f"224,224,3. Received: {text!r}.")
    sizes = tuple(int(p) for p in parts)
    if any(size <= 0 for size in sizes):
        raise ConvcostError(f"--input-shape sizes must be positive. Received: {text!r}.")
    if rank is not None and len(sizes) != rank:
        raise ConvcostError(f"--input-shape must have {rank} sizes (H,W,C). Received: {text!r}.")
    return sizes


def check_positive(option: str, value: int | None, minimum: int = 1) -> None:
    """Raise unless ``value`` is ``None`` or at least ``minimum``."""
    if value is not None and value < minimum:
        raise ConvcostError(f"{option} must be {minimum} or more. Received: {option} {value}.")


def make_source(model: str, shape_text: str | None, *, classes: int | None = None,
                alpha: float | None = None, no_top: bool = False,
                unsafe: bool = False) -> Source:
    """Check the options for ``model`` and say how to obtain it (imports no TensorFlow)."""
    from convcost.loader import ModelSpec, looks_like_path

    is_file = looks_like_path(model)
    shape = parse_input_shape(shape_text, None if is_file else 3)
    if not is_file:
        from convcost import zoo

        zoo.entry(model)  # unknown names fail here, with close-name hints
    spec = ModelSpec(model, None if is_file else shape, classes, alpha, not no_top, unsafe)
    return Source(spec, shape if is_file else None)


def check_output_dir(output: Path | None) -> None:
    """Fail early (before the slow part) when ``output`` cannot be written."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise ConvcostError(f"--output is a directory, not a file. Received: {str(output)!r}.")
    if not parent.is_dir():
        raise ConvcostError(f"--output's directory does not exist. Received: {str(output)!r}.")
    if not os.access(parent, os.W_OK):
        raise ConvcostError(f"--output's directory is not writable. Received: {str(output)!r}.")


# --- models, signatures ----------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (TensorFlow's C++ start-up lines ignore
    TF_CPP_MIN_LOG_LEVEL on TF 2.21), when the user asked TensorFlow to be quiet."""
    if "keras" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        yield
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def analyze_source(source: Source) -> tuple[Any, Any]:
    """Obtain the model and analyze it: ``(keras model, Report)``."""
    with _quiet_fd2():
        import keras  # noqa: F401  (the slow import, with its chatter silenced)
    from convcost.loader import obtain
    from convcost.walker import analyze

    model = obtain(source.spec)
    return model, analyze(model, input_shape=source.analyze_shape)


def layer_signatures(model: Any) -> dict[str, Any]:
    """Every leaf layer's :class:`~convcost.compare.LayerSignature`, by the walker's path.

    Nested functional/Sequential models are entered with ``outer/inner/`` prefixes, as the
    walker names rows; this reads ``model.layers``, it does not walk the graph again.
    """
    import keras

    from convcost.compare import LayerSignature

    found: dict[str, LayerSignature] = {}

    def visit(container: Any, prefix: str) -> None:
        for layer in container.layers:
            nested = isinstance(layer, keras.Model) and (
                isinstance(layer, keras.Sequential) or hasattr(layer, "_nodes_by_depth"))
            if nested:
                visit(layer, prefix + layer.name + "/")
            else:
                found[prefix + layer.name] = LayerSignature(
                    type(layer).__name__, _config_key(layer), _ints(layer, "kernel_size"),
                    _int(layer, "filters"), _int(layer, "groups") or 1)

    visit(model, "")
    return found


def _config_key(layer: Any) -> str | None:
    try:
        config = dict(layer.get_config())
    except Exception:  # a custom layer without get_config: it never matches
        return None
    config.pop("name", None)
    return json.dumps(config, sort_keys=True, default=repr)


def _ints(layer: Any, attribute: str) -> tuple[int, ...] | None:
    value = getattr(layer, attribute, None)
    return tuple(int(v) for v in value) if isinstance(value, tuple | list) else None


def _int(layer: Any, attribute: str) -> int | None:
    value = getattr(layer, attribute, None)
    return int(value) if isinstance(value, int) else None


# --- output ----------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and ``os.replace``.

    On any failure the temp file is removed and ``path`` is left as it was.
    """
    parent = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise ConvcostError(f"Cannot write the output file: {error.strerror}. "
                            f"Received: {str(path)!r}.") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temp, _file_mode(path))  # mkstemp makes 0600; give the usual mode
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise ConvcostError(f"Cannot write the output file: {error.strerror or error}. "
                            f"Received: {str(path)!r}.") from None


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, else 0666 less the umask (as open() would)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def emit(text: str, output: Path | None) -> None:
    """Write the rendered text to ``output`` or to stdout (plain, no rich)."""
    if output is not None:
        write_atomically(output, text)
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def console_width(output: Path | None) -> int:
    """$COLUMNS, else the terminal's width when stdout is one, else 100."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if output is None and sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return 100


def use_color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def strict_findings(report: Any) -> None:
    """Raise :class:`UnsupportedLayerError` (exit 2) on unsupported layers or a failed check."""
    problems = []
    if report.unsupported:
        problems.append("no cost rule for " + ", ".join(
            f"{name} ({count} call{'s' if count > 1 else ''})"
            for name, count in report.unsupported.items()))
    if not report.params_match:
        layers = ", ".join(x.path for x in report.mismatched_layers) or "not found per layer"
        problems.append(f"params check failed: counted {report.params:,} vs count_params() "
                        f"{report.keras_count_params:,} (layers: {layers})")
    if problems:
        raise UnsupportedLayerError(f"--strict: {'; '.join(problems)}. Received: model "
                                    f"{report.model!r}.")


# --- commands --------------------------------------------------------------------------------


@app.command("analyze")
@domain_errors
def analyze_command(
    model: ModelArg,
    input_shape: InputShape = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="table, json, csv or markdown.")] = "table",
    group_by: Annotated[str, typer.Option(
        "--group-by", help="layer, kind (standard/depthwise/pointwise/fully_connected/other) "
                           "or type (Keras class).")] = "layer",
    batch_size: Annotated[int | None, typer.Option(
        help="Also give totals per batch of N samples.", show_default=False)] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Show FLOPs beside MACs.")] = False,
    depth: Annotated[int | None, typer.Option(
        help="Fold rows of nested models deeper than N into one row.", show_default=False)
    ] = None,
    output: Output = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 2 on an unsupported layer or a failed params check.")] = False,
    unsafe: Unsafe = False,
    memory: Annotated[bool, typer.Option(
        "--memory", help="Bytes moved (inputs + outputs + weights), FLOP/byte, output and "
                         "peak activation memory.")] = False,
    roofline: Annotated[bool, typer.Option(
        "--roofline", help="Roofline bound per layer (compute/memory) and predicted time; "
                           "needs a device profile.")] = False,
    dtype: Annotated[str, typer.Option(help="float32, float16 or bfloat16 (bytes per "
                                            "element).")] = "float32",
    peak_gflops: Annotated[float | None, typer.Option(
        help="Device peak GFLOP/s (implies --roofline).", show_default=False)] = None,
    bandwidth_gbs: Annotated[float | None, typer.Option(
        help="Device bandwidth GB/s (implies --roofline).", show_default=False)] = None,
    device_profile: Annotated[Path | None, typer.Option(
        help="Device profile JSON from 'convcost probe' (implies --roofline; default: the "
             "saved one).", show_default=False)] = None,
) -> None:
    """Params, MACs and FLOPs of every layer of MODEL, checked against Keras' own count."""
    from convcost import render

    options = render.RenderOptions(group_by, batch_size, flops, depth,
                                   console_width(output), use_color(output))
    _check_analyze_options(fmt, options)
    check_output_dir(output)
    device = _device_for(roofline, peak_gflops, bandwidth_gbs, device_profile, dtype)
    source = make_source(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                         unsafe=unsafe)
    _, report = analyze_source(source)
    if strict:
        strict_findings(report)
    if memory or device is not None:
        options = dataclasses.replace(options, columns=_columns(report, memory, device, dtype))
    emit(render.render(report, fmt, options), output)


def _device_for(roofline: bool, peak_gflops: float | None, bandwidth_gbs: float | None,
                profile_file: Path | None, dtype: str) -> Any:
    """Check --dtype and resolve the device profile (before the slow part); None: no roofline."""
    from convcost import roofline as rl
    from convcost.memory import dtype_bytes

    dtype_bytes(dtype)
    if not (roofline or peak_gflops is not None or bandwidth_gbs is not None or profile_file):
        return None
    return rl.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                      profile_file=profile_file)


def _columns(report: Any, memory: bool, device: Any, dtype: str) -> Any:
    from convcost.memory import memory as traffic
    from convcost.roofline import AnalyzeColumns

    return AnalyzeColumns(traffic(report, dtype=dtype), device, show_memory=memory)


def _check_analyze_options(fmt: str, options: Any) -> None:
    from convcost import render

    render.check_choice("format", fmt, render.FORMATS)
    render.check_choice("--group-by", options.group_by, render.GROUPINGS)
    check_positive("--batch-size", options.batch_size)
    check_positive("--depth", options.depth, minimum=0)


@app.command("compare")
@domain_errors
def compare_command(
    models: Annotated[list[str], typer.Argument(
        help="Two or more zoo names or model files; the first is the baseline.",
        show_default=False)],
    input_shape: InputShape = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="table, json or markdown.")] = "table",
    output: Output = None,
    unsafe: Unsafe = False,
) -> None:
    """Compare models side by side, and the part that differs against 1/N + 1/D_K²."""
    from convcost import render
    from convcost.compare import compare

    render.check_choice("format for compare", fmt, render.COMPARE_FORMATS)
    if len(models) < 2:
        raise ConvcostError(f"compare needs at least two models. Received: {models}.")
    check_output_dir(output)
    sources = [make_source(m, input_shape, classes=classes, no_top=no_top, unsafe=unsafe)
               for m in models]
    reports, signatures = _analyze_all(sources)
    options = render.RenderOptions(width=console_width(output), color=use_color(output))
    emit(render.render_comparison(compare(reports, signatures), fmt, options), output)


def _analyze_all(sources: Sequence[Source]) -> tuple[list[Any], list[dict[str, Any]]]:
    reports, signatures = [], []
    for source in sources:
        model, report = analyze_source(source)
        reports.append(report)
        signatures.append(layer_signatures(model))
    return reports, signatures
