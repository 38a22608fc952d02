"""``convcost export``: a zoo model or a model file as a ``.tflite`` file.

The conversion is the one ``bench --runtime litert`` / ``litert-int8`` times
(:func:`convcost.measure.convert.to_tflite`): TensorFlow's converter, float32, or full-integer
int8 calibrated on MNIST training images (``--data`` or ``$CONVCOST_MNIST``; never downloaded).
The file is written atomically: an op the converter refuses is one line on stderr and no file.
``convcost analyze FILE.tflite --against MODEL`` then checks that the file keeps every MAC.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Alpha,
    Classes,
    Imports,
    InputShape,
    ModelArg,
    NoTop,
    Unsafe,
    model_request,
)
from convcost.cli.output import check_output_dir
from convcost.errors import ConvcostError

TfliteOutput = Annotated[Path, typer.Option(
    "--output", "-o", help="The .tflite file to write (atomically).", show_default=False,
    metavar="FILE.tflite")]
Int8 = Annotated[bool, typer.Option(
    "--int8", help="Full-integer int8 (int8 input and output), calibrated on 100 MNIST "
                   "training images, as 'bench --runtime litert-int8' converts.")]
CalibrationData = Annotated[Path | None, typer.Option(
    "--data", help="mnist.npz or IDX folder for --int8 calibration (default: "
                   "$CONVCOST_MNIST; never downloaded).", show_default=False, metavar="PATH")]


@app.command("export")
@domain_errors
def export_command(model: ModelArg, output: TfliteOutput, int8: Int8 = False,
                   data: CalibrationData = None, input_shape: InputShape = None,
                   alpha: Alpha = None, classes: Classes = None, no_top: NoTop = False,
                   unsafe: Unsafe = False, imports: Imports = None) -> None:
    """Convert a zoo model or a .keras/.h5 file to a .tflite file (LiteRT), fp32 or int8.

    Check the result with 'convcost analyze FILE.tflite --against MODEL'.
    """
    _check_options(output, int8, data)
    asked = model_request(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                          unsafe=unsafe, imports=imports)
    load_keras()
    from convcost.files import write_bytes
    from convcost.measure.convert import to_tflite
    from convcost.measure.fits import resolve_fitting

    keras_model = resolve_fitting(asked, purpose="export").model  # refused if it cannot fit
    calibration = _calibration(keras_model, data) if int8 else None
    blob = to_tflite(keras_model, "int8" if int8 else "fp32", calibration)
    write_bytes(output, blob, what="output file")
    typer.echo(f"wrote {output}: {len(blob):,} bytes, {'int8' if int8 else 'fp32'} "
               f"({keras_model.name}, {keras_model.count_params():,} params)")


def _check_options(output: Path, int8: bool, data: Path | None) -> None:
    """Fail before TensorFlow loads: the file's name and folder, and --data without --int8."""
    if output.suffix.lower() != ".tflite":
        raise ConvcostError(f"--output must end in .tflite. Received: {str(output)!r}.")
    check_output_dir(output)
    if data is not None and not int8:
        raise ConvcostError(f"--data calibrates --int8 only. Received: --data {str(data)!r} "
                            f"without --int8.")
    if int8 and data is None and not os.environ.get("CONVCOST_MNIST"):
        raise ConvcostError("--int8 needs calibration images: --data mnist.npz or "
                            "$CONVCOST_MNIST (nothing is downloaded). Received: neither.")


def _calibration(model: Any, path: Path | None) -> Any:
    """100 MNIST training images (seeded), if they fit the model's input."""
    from convcost.measure import data
    from convcost.measure.convert import representative_samples
    from convcost.measure.runtimes import model_input_shape

    prepared = data.prepare(data.load_mnist(path))
    shape = model_input_shape(model)
    if tuple(prepared.x_train.shape[1:]) != tuple(shape):
        raise ConvcostError(f"--int8 calibrates on MNIST images (28x28x1), which do not fit "
                            f"the model's input. Received: input shape {tuple(shape)}.")
    return representative_samples(prepared.x_train)
