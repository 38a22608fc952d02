"""``convcost analyze``: one command, four modes behind one dispatch.

A Keras model (a zoo name or a ``.keras``/``.h5`` file: :mod:`.keras_model`), a ``.tflite``
file (:mod:`.tflite_file`), the model's cost as formulas of its input size (``--symbolic``,
``--sweep``: :mod:`.formulas`), or an LLM's inference (``--decode``, ``--generate``,
``--device``: :mod:`.llm`). Each mode lists the options it takes; any other option given
is refused in one line (:mod:`.args`), so no option is ever dropped silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convcost.cli.analyze import formulas, keras_model, llm, tflite_file
from convcost.cli.analyze.args import AnalyzeArgs, refuse_others
from convcost.cli.app import app, domain_errors
from convcost.cli.options import (
    Alpha,
    AnalyzeFormat,
    BandwidthGbs,
    Causal,
    Classes,
    Context,
    Decode,
    Device,
    DeviceProfileFile,
    Dtype,
    Efficiency,
    Generate,
    GroupBy,
    Imports,
    InputShapes,
    KvBits,
    ModelArg,
    Moe,
    NoTop,
    Output,
    PeakGflops,
    SeqLen,
    Unsafe,
    WeightBits,
    Width,
)

MODES = (tflite_file, llm, formulas, keras_model)  # the first whose ``applies`` says yes runs


@app.command("analyze")
@domain_errors
def analyze_command(
    model: ModelArg,
    input_shape: InputShapes = None,
    seq_len: SeqLen = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: AnalyzeFormat = "table",
    group_by: GroupBy = "layer",
    batch_size: Annotated[int | None, typer.Option(
        help="Also give totals per batch of N samples.", show_default=False, metavar="N")
    ] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Show FLOPs beside MACs.")] = False,
    depth: Annotated[int | None, typer.Option(
        help="Fold rows of nested models deeper than N into one row.", show_default=False,
        metavar="N")] = None,
    output: Output = None,
    width: Width = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 2 on an unsupported layer or a failed params check.")] = False,
    unsafe: Unsafe = False,
    imports: Imports = None,
    memory: Annotated[bool, typer.Option(
        "--memory", help="Bytes moved (inputs + outputs + weights), FLOP/byte, output and "
                         "peak activation memory.")] = False,
    roofline: Annotated[bool, typer.Option(
        "--roofline", help="Roofline bound per layer (compute/memory) and predicted time; "
                           "measures this machine once if no device profile is saved.")] = False,
    dtype: Dtype = "float32",
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    device_profile: DeviceProfileFile = None,
    symbolic: Annotated[bool, typer.Option(
        "--symbolic", help="Params, MACs and FLOPs of the model and of every layer as exact "
                           "formulas of the free input sizes (H, W or L), proven at held-back "
                           "sizes.")] = False,
    sweep: Annotated[str | None, typer.Option(
        help="Counts and per-kind shares across sizes, with the formula: size=96,128,... "
             "(H = W) or seq-len=128,256,...; with --decode --device: context=C,C,... or "
             "batch=B,B,...", show_default=False, metavar="AXIS=N,N,...")
    ] = None,
    plot: Annotated[Path | None, typer.Option(
        help="With --sweep: also draw the sweep as a PNG file.", show_default=False,
        metavar="FILE")] = None,
    training: Annotated[bool, typer.Option(
        "--training", help="Training cost per layer: input-gradient (dx) and weight-gradient "
                           "(dW) MACs, training MACs/FLOPs, and the memory of one step at "
                           "--batch-size.")] = False,
    optimizer: Annotated[str, typer.Option(
        help="Keras optimizer whose slots --training counts (adam, sgd, rmsprop, adamw, ...).",
        metavar="NAME")] = "adam",
    measure_memory: Annotated[bool, typer.Option(
        "--measure-memory", help="With --training: also run 4 training steps in a subprocess "
                                 "and read TensorFlow's allocator peak.")] = False,
    against: Annotated[str | None, typer.Option(
        help="With a .tflite MODEL: the Keras model it came from (a .keras file or a zoo "
             "name), compared kind by kind.", show_default=False, metavar="MODEL")] = None,
    causal: Causal = False,
    moe: Moe = "routed",
    decode: Decode = False,
    context: Context = None,
    generate: Generate = None,
    weight_bits: WeightBits = None,
    kv_bits: KvBits = None,
    device_id: Device = None,
    efficiency: Efficiency = None,
) -> None:
    """Params, MACs and FLOPs of every layer of MODEL, checked against Keras' own count.

    MODEL may also be a .tflite file: one row per op, read without TensorFlow (--against
    compares it with its Keras model). --peak-gflops, --bandwidth-gbs and --device-profile
    imply --roofline; --measure-memory implies --training. --symbolic and --sweep derive the
    cost as exact polynomials of the input size (see 'Formulas of models' in the docs). Zoo
    models are built shape-only (no weights allocated), so a 70B LLM or a huge --alpha answers
    in seconds.
    """
    args = AnalyzeArgs(**locals())
    mode = next(mode for mode in MODES if mode.applies(args))
    refuse_others(args, mode.ACCEPTS, mode.REFUSAL)
    mode.run(args)
