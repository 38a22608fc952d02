"""The options vocabulary every command shares: one declaration per option, parsing and checks
of what typer cannot check itself. Nothing here imports TensorFlow.

Every output format is a choice (``--format``/``-f``): the ``FORMATS`` of the command's
renderer in :mod:`convcost.render` (:func:`format_option`); typer refuses anything else before
a command runs. Renderers import no TensorFlow, so this stays quick. ``--width`` is how wide
a table may be (:mod:`.output`).
Counts are checked with :mod:`convcost.checks` so every command words its errors alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import typer

from convcost import checks
from convcost.errors import ConvcostError
from convcost.render import analyze as analyze_out
from convcost.render import bench as bench_out
from convcost.render import compare as compare_out
from convcost.render import devices as devices_out
from convcost.render import formulas as formulas_out
from convcost.render import graph as graph_out
from convcost.render import predict as predict_out
from convcost.render import profile as profile_out
from convcost.render import verify as verify_out
from convcost.render import zoo as zoo_out

# --- the model --------------------------------------------------------------------------------

ModelArg = Annotated[str, typer.Argument(
    help="A zoo name (naive, v1, v2, mobilenet, resnet50, ...; see 'convcost zoo') or a "
         ".keras/.h5 file.", show_default=False, metavar="MODEL")]
ModelsArg = Annotated[list[str] | None, typer.Argument(
    help="Zoo names or model files; the first is the baseline of the speedups.",
    show_default="naive v1 v2", metavar="MODEL...")]
InputShape = Annotated[str | None, typer.Option(
    "--input-shape", help="H,W,C of one sample; rebuilds a zoo model, or re-shapes a file's "
                          "model where its layers allow it.", show_default=False,
    metavar="SHAPE")]
InputShapes = Annotated[list[str] | None, typer.Option(
    "--input-shape", help="One sample's shape: H,W,C (rebuilds a zoo model, or re-shapes a "
                          "file's model where its layers allow it), or NAME=SHAPE per input of "
                          "a model with several (repeatable), e.g. --input-shape token_ids=2048 "
                          "--input-shape padding_mask=2048.", show_default=False,
    metavar="SHAPE|NAME=SHAPE")]
SeqLen = Annotated[int | None, typer.Option(
    "--seq-len", help="Tokens per sequence for every token input (integer ids, masks) of a "
                      "text model; zoo text models default to their context length.",
    show_default=False, metavar="L")]
Causal = Annotated[bool, typer.Option(
    "--causal", help="Count causal self-attention over the L(L+1)/2 query-key pairs a decoder "
                     "may use (Kaplan et al.'s convention), not the full LxL it executes.")]
Moe = Annotated[Literal["routed", "executed"], typer.Option(
    "--moe", help="Mixture-of-experts MACs: the top-k experts each token is routed to, or "
                  "every expert the implementation runs on every token.")]
Alpha = Annotated[float | None, typer.Option(
    help="Width multiplier (zoo models that take one).", show_default=False, metavar="FLOAT")]
Classes = Annotated[int | None, typer.Option(
    help="Output classes of a zoo model.", show_default=False, metavar="N")]
NoTop = Annotated[bool, typer.Option("--no-top", help="Zoo model without its classifier.")]
Unsafe = Annotated[bool, typer.Option(
    "--unsafe", help="Load a .keras file with Python code (Lambda layers); trust it first.")]
Imports = Annotated[list[str] | None, typer.Option(
    "--import", help="Import this module or .py file first (repeatable): code that registers "
                     "custom layers or cost rules; only code you trust.", show_default=False,
    metavar="MODULE_OR_FILE")]

# --- output -----------------------------------------------------------------------------------

Output = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write to this file (atomically) instead of stdout.",
    show_default=False, metavar="FILE")]
Width = Annotated[int | None, typer.Option(
    "--width", help="Table width in characters (default: the terminal's; the full width for a "
                    "file or a pipe). Narrow tables wrap names, never numbers.",
    show_default=False, metavar="N")]


def format_option(formats: tuple[str, ...], help_text: str = "Output format.") -> Any:
    """``--format``/``-f`` with a renderer's ``FORMATS`` as its choices (typer refuses others)."""
    return Annotated[Literal[formats], typer.Option("--format", "-f", help=help_text)]


if TYPE_CHECKING:  # to a type checker a format is a string; typer sees the choices below
    AnalyzeFormat: TypeAlias = str
    CompareFormat: TypeAlias = str
    ProfileFormat: TypeAlias = str
    VerifyFormat: TypeAlias = str
    ZooFormat: TypeAlias = str
    BenchFormat: TypeAlias = str
    FormulasFormat: TypeAlias = str
    GraphFormat: TypeAlias = str
    DevicesFormat: TypeAlias = str
    PredictFormat: TypeAlias = str
else:
    AnalyzeFormat = format_option(analyze_out.FORMATS, "Output format; html: one self-contained "
                                  "page for a browser (with --output FILE).")
    CompareFormat = format_option(compare_out.FORMATS)
    ProfileFormat = format_option(profile_out.FORMATS)
    VerifyFormat = format_option(verify_out.FORMATS)
    ZooFormat = format_option(zoo_out.FORMATS)
    BenchFormat = format_option(bench_out.FORMATS)
    FormulasFormat = format_option(formulas_out.FORMATS, "Unicode text, LaTeX, or JSON.")
    GraphFormat = format_option(graph_out.FORMATS,
                                "svg (drawn by graphviz's dot) or the DOT text itself.")
    DevicesFormat = format_option(devices_out.FORMATS)
    PredictFormat = format_option(predict_out.FORMATS)

GroupBy = Annotated[Literal["layer", "kind", "type"], typer.Option(
    "--group-by", help="One row per layer call, per kind (standard, depthwise, pointwise, "
                       "fully_connected, other, attention, recurrent, embedding) or per Keras "
                       "class (type).")]
Dtype = Annotated[Literal["float32", "float16", "bfloat16"], typer.Option(
    help="Element type of the bytes counted.")]

# --- timing and devices -----------------------------------------------------------------------

Repeats = Annotated[int, typer.Option(help="Timed runs (the median is kept).", metavar="N")]
Warmup = Annotated[int, typer.Option(help="Untimed runs first (the first one traces).",
                                     metavar="N")]
PeakGflops = Annotated[float | None, typer.Option(
    help="Device peak GFLOP/s (overrides the saved profile's).", show_default=False,
    metavar="FLOAT")]
BandwidthGbs = Annotated[float | None, typer.Option(
    help="Device memory bandwidth GB/s (overrides the saved profile's).", show_default=False,
    metavar="FLOAT")]
DeviceProfileFile = Annotated[Path | None, typer.Option(
    help="A device profile JSON from 'convcost probe' (default: the saved one).",
    show_default=False, metavar="FILE")]


def parse_input_shape(text: str | None) -> tuple[int, ...] | None:
    """``"224,224,3"`` -> ``(224, 224, 3)``; ``None`` stays ``None``.

    Args:
        text: sizes separated by commas (``x`` also accepted), e.g. ``"28,28,1"``.
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
    for size in sizes:
        checks.dimension("--input-shape sizes", size, shown=repr(text))
    return sizes


def parse_input_shapes(texts: str | list[str] | None
                       ) -> tuple[int, ...] | dict[str, tuple[int, ...]] | None:
    """``--input-shape`` values: one ``H,W,C`` -> a tuple; ``NAME=SHAPE`` entries -> a dict.

    Args:
        texts: the option's values (a string for commands that take it once).
    """
    values = [texts] if isinstance(texts, str) else list(texts or [])
    if not values:
        return None
    named = [text for text in values if "=" in text]
    if not named:
        if len(values) > 1:
            raise ConvcostError(f"Give --input-shape once, or as NAME=SHAPE for each input of a "
                                f"model with several. Received: {values}.")
        return parse_input_shape(values[0])
    if len(named) != len(values):
        raise ConvcostError(f"Either one --input-shape SHAPE or NAME=SHAPE entries, not both. "
                            f"Received: {values}.")
    shapes: dict[str, tuple[int, ...]] = {}
    for text in values:
        name, _, shape = (part.strip() for part in text.partition("="))
        if not name or name in shapes:
            raise ConvcostError(f"--input-shape NAME=SHAPE needs a name, once per input. "
                                f"Received: {text!r}.")
        parsed = parse_input_shape(shape)
        shapes[name] = parsed if parsed is not None else ()
    return shapes


def check_count(option: str, value: int | None, minimum: int = 1) -> None:
    """Raise unless ``value`` is ``None`` or an integer of at least ``minimum``."""
    if value is not None:
        checks.count(option, value, minimum=minimum, shown=f"{option} {value}")


def model_request(model: str, shape_text: str | list[str] | None, *,
                  classes: int | None = None, alpha: float | None = None, no_top: bool = False,
                  unsafe: bool = False, seq_len: int | None = None,
                  imports: list[str] | None = None) -> Any:
    """Parse ``--input-shape`` and check the options for ``model``: a
    :class:`convcost.models.loader.Request` (imports no TensorFlow)."""
    from convcost.models import loader

    return loader.request(model, input_shape=parse_input_shapes(shape_text), seq_len=seq_len,
                          classes=classes, alpha=alpha, include_top=not no_top, unsafe=unsafe,
                          imports=tuple(imports or ()))


# --- LLM inference (analyze --decode/--generate/--device) ------------------------------------

Decode = Annotated[bool, typer.Option(
    "--decode", help="LLM: the cost of generating one token with --context C tokens cached: "
                     "per layer MACs, weights read, KV cache read and written.")]
Context = Annotated[int | None, typer.Option(
    help="With --decode: tokens already in the KV cache.", show_default=False, metavar="C")]
Generate = Annotated[str | None, typer.Option(
    help="LLM: prefill P prompt tokens, then decode N tokens: totals per phase.",
    show_default=False, metavar="P,N")]
WeightBits = Annotated[int | None, typer.Option(
    help="LLM: bits per weight, 32, 16, 8 or 4 (default: --dtype's).", show_default=False,
    metavar="BITS")]
KvBits = Annotated[int | None, typer.Option(
    help="LLM: bits per KV-cache element, 32, 16, 8 or 4 (default: --dtype's).",
    show_default=False, metavar="BITS")]
Device = Annotated[str | None, typer.Option(
    "--device", help="LLM: a named device ('convcost devices': h100_sxm, a100_80gb, l4, "
                     "this_machine, ...) or a JSON file: time to first token, time per "
                     "output token, tokens/s, fit.",
    show_default=False, metavar="ID|FILE")]
Efficiency = Annotated[float | None, typer.Option(
    help="LLM, with --device: fraction of peak and bandwidth reached (default 1: the bound).",
    show_default=False, metavar="E")]


# --- latency prediction (calibrate, predict, compare --predict) ---------------------------------

PredictRuntime = Annotated[Literal["litert", "litert-int8", "tf", "tf-train"], typer.Option(
    help="litert: LiteRT/XNNPACK fp32 (the model converted as 'bench' converts it); "
         "litert-int8: the same, full-integer int8; tf: "
         "tf.function(model(x, training=False)); tf-train: one training step on TensorFlow "
         "(forward, gradients, Adam's update), what 'train' predicts its epochs from.")]
Threads = Annotated[int, typer.Option(help="Threads of the runtime (LiteRT num_threads; "
                                           "TensorFlow intra-op threads).", metavar="N")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Samples per call.",
                                         metavar="N")]
ProfileFile = Annotated[Path | None, typer.Option(
    "--profile", help="A latency profile saved by 'convcost calibrate' (default: the saved one "
                      "of this runtime, threads and batch).", show_default=False,
    metavar="FILE")]
