"""Keras model -> ``.tflite`` bytes with TensorFlow's converter: float32, or full-integer int8.

``tf.lite.TFLiteConverter.from_keras_model`` is what a new user calls, so it is what convcost
calls. ``fp32`` uses no options: weights and activations stay float32. ``int8`` is full-integer
post-training quantization: ``Optimize.DEFAULT``, a representative dataset to calibrate the
activation ranges, ``TFLITE_BUILTINS_INT8`` only (conversion fails rather than fall back to a
float kernel), and int8 model input and output (the runtime quantizes the input itself with the
input tensor's scale and zero point, see :mod:`convcost.measure.runtimes`).

The converter writes a SavedModel and prints its signature to stdout, and its C++ part logs to
stderr; both are kept off the terminal while it runs (they would break ``--format json``) and
the last line is quoted if conversion fails. :class:`ConversionCache` converts each model and
precision once per run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convcost import checks
from convcost.errors import ConvcostError, one_line
from convcost.native import captured

PRECISIONS = ("fp32", "int8")
REPRESENTATIVE_SAMPLES = 100


Representative = np.ndarray | Sequence[np.ndarray]  # one array per model input, batch first


def to_tflite(model: Any, precision: str = "fp32",
              representative: Representative | None = None) -> bytes:
    """The ``.tflite`` flatbuffer of a Keras model.

    Args:
        model: a built Keras model (TensorFlow backend).
        precision: ``"fp32"`` or ``"int8"`` (full-integer; needs ``representative``).
        representative: float32 samples shaped like the model input, batch first, that
            calibrate the int8 activation ranges (see :func:`representative_samples`); a
            model of several inputs takes a list, one array per input.
    """
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise ConvcostError(f"Unknown precision; use fp32 or int8. Received: {precision!r}.")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if precision == "int8":
        _full_integer(converter, model, representative)
    with captured() as log:
        try:
            return bytes(converter.convert())
        except Exception as error:  # the converter raises many types
            raise ConvcostError(f"TFLite conversion ({precision}) of {model.name!r} failed: "
                                f"{refusal(str(error), log.getvalue())} Received: model "
                                f"{model.name!r}.") from None


def refusal(message: str, log: str) -> str:
    """Why the converter refused, in one sentence: the TensorFlow ops it has no built-in
    kernel for when it names them, else the first line of its error (and of its log)."""
    select = re.search(r"TF Select ops: ([^\n]+)", message)
    if select:
        return (f"no LiteRT built-in kernel for the TensorFlow ops {select[1].strip()} (they "
                f"would need TF Select, which convcost does not enable).")
    ops = sorted(set(re.findall(r"'(tfl?\.\w+)' op [^\n]*?(?:not supported|neither)", message)))
    if ops:
        return f"ops the converter refuses: {', '.join(ops)}."
    first = next((line for line in message.splitlines() if line.strip()), "")
    logged = next((line for line in reversed(log.splitlines()) if "rror" in line), "")
    return one_line(f"{one_line(first)} {one_line(logged, 200)}").rstrip(".") + "."


def _full_integer(converter: Any, model: Any, representative: Representative | None) -> None:
    """Set ``converter`` up for full-integer int8 with int8 input and output."""
    import tensorflow as tf

    arrays = ([] if representative is None else list(representative)
              if isinstance(representative, (list, tuple)) else [representative])
    inputs = [np.asarray(a, dtype=np.float32) for a in arrays]
    count = min((len(a) for a in inputs), default=0)
    if count == 0:
        raise ConvcostError("int8 conversion needs a representative dataset. Received: "
                            "no samples.")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if len(inputs) == 1:
        converter.representative_dataset = lambda: ([inputs[0][i:i + 1]] for i in range(count))
    else:  # by the signature's input names: the converter's input order is not the model's
        names = [t.name for t in model.inputs]
        converter.representative_dataset = lambda: (
            {n: a[i:i + 1] for n, a in zip(names, inputs)} for i in range(count))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8


def representative_samples(images: np.ndarray, count: int = REPRESENTATIVE_SAMPLES,
                           seed: int = 0) -> np.ndarray:
    """``count`` images drawn at random (without replacement, seeded) from ``images``."""
    checks.count("representative samples", count)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(count, len(images)), replace=False)
    return np.asarray(images[np.sort(chosen)], dtype=np.float32)


@dataclass
class ConversionCache:
    """Converted models of one run, by (model, precision): each is converted once."""

    converted: dict[tuple[int, str], bytes] = field(default_factory=dict)

    def get(self, model: Any, precision: str,
            representative: Representative | None = None) -> bytes:
        """The ``.tflite`` bytes of ``model`` at ``precision``, converted on first use."""
        key = (id(model), precision)
        if key not in self.converted:
            self.converted[key] = to_tflite(model, precision, representative)
        return self.converted[key]
