"""The options vocabulary every command shares: one declaration per option, parsing and checks
of what typer cannot check itself. Nothing here imports TensorFlow.

Every output format is a choice (``--format``/``-f``): ``table`` (rich text), ``json``,
``csv``, ``markdown`` and (``analyze``) ``html`` where they make sense; typer refuses anything
else before a command runs. ``--width`` is how wide a table may be (:mod:`.output`).
Counts are checked with :mod:`convcost.checks` so every command words its errors alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from convcost import checks
from convcost.errors import ConvcostError

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
AnalyzeFormat = Annotated[Literal["table", "json", "csv", "markdown", "html"], typer.Option(
    "--format", "-f", help="Output format; html: one self-contained page for a browser "
                           "(with --output FILE).")]
ReportFormat = Annotated[Literal["table", "json", "markdown"], typer.Option(
    "--format", "-f", help="Output format.")]
ListFormat = Annotated[Literal["table", "json"], typer.Option(
    "--format", "-f", help="Output format.")]
GroupBy = Annotated[Literal["layer", "kind", "type"], typer.Option(
    "--group-by", help="One row per layer call, per kind (standard, depthwise, pointwise, "
                       "fully_connected, other, attention, recurrent, embedding) or per Keras "
                       "class (type).")]
Dtype = Annotated[Literal["float32", "float16", "bfloat16"], typer.Option(
    help="Element type of the bytes counted.")]

# --- timing and devices -----------------------------------------------------------------------

BatchSize = Annotated[int, typer.Option(help="Samples per timed call.", metavar="N")]
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


@dataclass(frozen=True)
class Source:
    """A model to obtain, and the input shape(s) and sequence length to hand to analyze():
    a file's shape, named shapes, or a text model's sequence length (a zoo image model is
    rebuilt at its shape instead)."""

    spec: Any  # convcost.models.loader.ModelSpec
    analyze_shape: tuple[int, ...] | None
    seq_len: int | None = None
    text_default: bool = False  # seq_len is the zoo text model's own context length
    named_shapes: dict[str, tuple[int, ...]] | None = None  # --input-shape NAME=SHAPE

    @property
    def shapes(self) -> tuple[int, ...] | dict[str, tuple[int, ...]] | None:
        """What analyze() takes as ``input_shape``: the named shapes, or the one shape."""
        return self.named_shapes if self.named_shapes is not None else self.analyze_shape


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
    for size in sizes:
        checks.dimension("--input-shape sizes", size, shown=repr(text))
    if rank is not None and len(sizes) != rank:
        raise ConvcostError(f"--input-shape must have {rank} sizes (H,W,C). Received: {text!r}.")
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


def make_source(model: str, shape_text: str | list[str] | None, *, classes: int | None = None,
                alpha: float | None = None, no_top: bool = False,
                unsafe: bool = False, seq_len: int | None = None,
                imports: list[str] | None = None) -> Source:
    """Check the options for ``model`` and say how to obtain it (imports no TensorFlow)."""
    from convcost.models.loader import ModelSpec, looks_like_path

    check_count("--seq-len", seq_len)
    code = tuple(imports or ())
    is_file = looks_like_path(model)
    shape = parse_input_shapes(shape_text)
    named = shape if isinstance(shape, dict) else None
    single = shape if isinstance(shape, tuple) else None
    if is_file:
        return Source(ModelSpec(model, None, classes, alpha, not no_top, unsafe, code), single,
                      seq_len, named_shapes=named)
    from convcost.models import zoo

    entry = zoo.entry(model)  # unknown names fail here, with close-name hints
    if entry.seq_len:
        spec = ModelSpec(model, None, classes, alpha, not no_top, unsafe, code)
        return _text_source(entry, spec, shape, seq_len)
    if seq_len is not None:
        raise ConvcostError(f"--seq-len applies to text models; {model!r} takes an image "
                            f"(--input-shape H,W,C). Received: --seq-len {seq_len}.")
    if named is not None:
        return Source(ModelSpec(model, None, classes, alpha, not no_top, unsafe, code), None,
                      named_shapes=named)
    if shape is not None:  # one H,W,C for a zoo image model: checked as before
        shape = parse_input_shape(shape_text if isinstance(shape_text, str) else
                                  (shape_text or [""])[0], 3)
    return Source(ModelSpec(model, shape, classes, alpha, not no_top, unsafe, code), None)


def _text_source(entry: Any, spec: Any, shape: tuple[int, ...] | dict | None,
                 seq_len: int | None) -> Source:
    """A zoo text model: the shapes and sequence length go to the analysis, not the build."""
    if isinstance(shape, tuple):
        raise ConvcostError(f"{entry.name!r} is a text model with several token inputs; give "
                            f"--seq-len L, or --input-shape NAME=SHAPE per input. Received: "
                            f"--input-shape {','.join(str(d) for d in shape)}.")
    return Source(spec, None, seq_len or entry.seq_len, text_default=seq_len is None,
                  named_shapes=shape)


# --- latency prediction (calibrate, predict, compare --predict) ---------------------------------

PredictRuntime = Annotated[Literal["litert", "tf"], typer.Option(
    help="litert: LiteRT/XNNPACK fp32 (the model converted as 'bench' converts it); tf: "
         "tf.function(model(x, training=False)).")]
Threads = Annotated[int, typer.Option(help="Threads of the runtime (LiteRT num_threads; "
                                           "TensorFlow intra-op threads).", metavar="N")]
Batch = Annotated[int, typer.Option("--batch-size", help="Samples per call.", metavar="N")]
ProfileFile = Annotated[Path | None, typer.Option(
    "--profile", help="A latency profile saved by 'convcost calibrate' (default: the saved one "
                      "of this runtime, threads and batch).", show_default=False,
    metavar="FILE")]
