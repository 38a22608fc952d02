"""Measure the memory peak of training steps with TensorFlow's own allocator statistics.

``tf.config.experimental.get_memory_info('CPU:0')`` raises "Allocator stats not available" with
TensorFlow's default CPU allocator; with ``TF_CPU_ALLOCATOR_USE_BFC=true`` in the environment
*before TensorFlow is imported* the CPU allocator is a BFC allocator that keeps statistics. So
the measurement runs in a fresh subprocess with that variable set (it also slows the steps
down: do not time with it). It counts the tensors TensorFlow allocates (with BFC's rounding),
not the Python heap, graphs or oneDNN caches; the process's RSS is no yardstick for these sizes.

The procedure: build the model, compile it (mean squared error against random targets of its
output's shape: the loss's own memory is negligible), build the optimizer, make one random
batch; run one ``train_on_batch`` (traces), reset the statistics, read ``current`` (the resting
memory: weights, slots, the batch, and whatever the first step left allocated), run ``steps``
more and read ``peak``. What a step adds is ``peak - rest``. On a GPU, the GPU's statistics
are read instead (they need no environment variable). Other backends: not measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from convcost.errors import ConvcostError
from convcost.models.loader import ModelSpec

STEPS = 3
TIMEOUT_S = 900


@dataclass(frozen=True)
class MeasuredPeak:
    """TensorFlow's allocator over ``steps`` training steps, in bytes.

    Attributes:
        device: ``"CPU:0"`` or ``"GPU:0"``.
        batch: samples per step.
        optimizer: the optimizer's name.
        rest_bytes: allocated before the steps (after one warm-up step).
        peak_bytes: the highest allocation during the steps.
        step_s: seconds per step with the statistics allocator (not a timing to quote).
    """

    device: str
    batch: int
    optimizer: str
    rest_bytes: int
    peak_bytes: int
    step_s: float
    steps: int = STEPS

    @property
    def step_bytes(self) -> int:
        """What a step adds at its peak over the resting allocation."""
        return self.peak_bytes - self.rest_bytes


def measure_training_peak(spec: ModelSpec, *, batch: int, optimizer: str = "adam",
                          steps: int = STEPS) -> MeasuredPeak:
    """Run ``steps`` training steps of the model ``spec`` names in a subprocess; read the peak.

    Args:
        spec: the model (a zoo name or a file, see :mod:`convcost.models.loader`).
        batch: samples per step.
        optimizer: a Keras optimizer name.
        steps: measured steps (after one warm-up step).
    """
    env = dict(os.environ, TF_CPU_ALLOCATOR_USE_BFC="true", TF_CPP_MIN_LOG_LEVEL="3")
    payload = json.dumps({"spec": asdict(spec), "batch": batch, "optimizer": optimizer,
                          "steps": steps})
    try:
        done = subprocess.run([sys.executable, "-m", "convcost.measure.memory_peak", payload],
                              capture_output=True, text=True, env=env, timeout=TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        raise ConvcostError(f"Measuring the training peak took over {TIMEOUT_S} s. Received: "
                            f"model {spec.source!r}, batch {batch}.") from None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return _parsed(json.loads(line), spec, batch)
    tail = " ".join(done.stderr.split()[-40:]) or f"exit status {done.returncode}"
    raise ConvcostError(f"Measuring the training peak failed: {tail[-300:]} Received: model "
                        f"{spec.source!r}, batch {batch}.")


def _parsed(data: dict[str, Any], spec: ModelSpec, batch: int) -> MeasuredPeak:
    if "error" in data:
        raise ConvcostError(f"{data['error']} Received: model {spec.source!r}, batch {batch}.")
    return MeasuredPeak(**data)


def _child(payload: dict[str, Any]) -> dict[str, Any]:
    """In the subprocess: build, warm up, measure (see the module docstring)."""
    import keras

    from convcost.models import loader

    if keras.backend.backend() != "tensorflow":
        return {"error": f"The training peak is measured on TensorFlow only; backend is "
                         f"{keras.backend.backend()}."}
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    spec = payload["spec"] | {"imports": tuple(payload["spec"].get("imports", ()))}
    if spec.get("input_shape") is not None:
        spec["input_shape"] = tuple(spec["input_shape"])
    model = loader.resolve(loader.Request(ModelSpec(**spec)), run=True).model
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return {"error": "The training peak is measured for one-input, one-output models only."}
    model.compile(optimizer=payload["optimizer"], loss="mse")
    model.optimizer.build(model.trainable_variables)
    batch, steps = int(payload["batch"]), int(payload["steps"])
    x, y = _batch(model, batch)
    device = "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU:0"
    model.train_on_batch(x, y)  # traces and runs once
    tf.config.experimental.reset_memory_stats(device)
    rest = tf.config.experimental.get_memory_info(device)["current"]
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    step_s = (time.perf_counter() - started) / steps
    peak = tf.config.experimental.get_memory_info(device)["peak"]
    return {"device": device, "batch": batch, "optimizer": type(model.optimizer).__name__,
            "rest_bytes": int(rest), "peak_bytes": int(peak), "step_s": step_s, "steps": steps}


def _batch(model: Any, batch: int) -> tuple[Any, Any]:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.random((batch, *(int(d) for d in model.inputs[0].shape[1:])), dtype=np.float32)
    y = rng.random((batch, *(int(d) for d in model.outputs[0].shape[1:])), dtype=np.float32)
    return tf.constant(x), tf.constant(y)


if __name__ == "__main__":
    try:
        result = _child(json.loads(sys.argv[1]))
    except ConvcostError as error:
        result = {"error": str(error)}
    print(json.dumps(result), flush=True)
