"""Where a model runs when it is timed: TensorFlow, LiteRT (XNNPACK) in float32 or int8, JAX.

Each runtime turns a Keras model into a :class:`Runner`: a no-argument call that runs one
forward pass on a fixed random batch, how to wait for its result, and how to predict class
scores for the accuracy check. All runners of a run are timed together by
:func:`convcost.measure.timing.time_interleaved` (shuffled rounds, fair on a busy machine).

* ``tf``: ``tf.function(model(x, training=False))`` without XLA, as ``convcost bench`` has
  always timed it; ``--threads N`` sets TensorFlow's intra-op threads (once per process,
  before TensorFlow runs anything); without it TensorFlow chooses (one per core).
* ``litert`` / ``litert-int8``: the model converted by :mod:`convcost.measure.convert`
  (float32, or full-integer int8), run by ``ai_edge_litert.interpreter.Interpreter`` with
  ``num_threads`` (1 unless ``--threads`` says otherwise), which hands the whole graph to the
  XNNPACK delegate; the timed call is ``interpreter.invoke()`` on a batch set beforehand. For
  int8 the input is quantized with the input tensor's scale and zero point; the int8 ranges
  come from the caller's samples (``bench``: MNIST when it fits) or, for timing only
  (``calibrate``, ``predict --check``), from random inputs.
* ``tf-train`` (latency prediction only): one training step on TensorFlow
  (:func:`training_runner`): forward with ``training=True``, the gradients of a mean-square
  loss to the weights *and the inputs*, Adam's update (``train``'s default optimizer).
* ``jax``: ``jax.jit(model(x, training=False))`` on Keras' JAX backend. When this process runs
  Keras on TensorFlow, the models are saved to a temporary folder and timed in a child process
  started with ``KERAS_BACKEND=jax`` (:func:`time_in_child`); it needs ``jax`` installed.
* ``torch``: the same on Keras' torch backend (eager ``model(x, training=False)``, as Keras
  runs it there; CUDA synchronised); it needs ``torch`` installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from convcost.errors import ConvcostError
from convcost.measure.convert import ConversionCache, Representative
from convcost.measure.timing import Timings, compile_function, no_sync, time_interleaved
from convcost.models.loader import imported_code
from convcost.native import captured

RUNTIMES = ("tf", "litert", "litert-int8", "jax", "torch")
PRECISION = {"tf": "fp32", "litert": "fp32", "litert-int8": "int8", "jax": "fp32",
             "torch": "fp32"}
TRAINING = "tf-train"  # a training step: what ``calibrate``/``predict`` time for ``train``
TRAINING_OPTIMIZER = "adam"
TF_THREADED = ("tf", TRAINING)  # the runtimes whose threads are TensorFlow's intra-op pool
KERAS_BACKENDS = {"jax": "jax", "torch": "torch"}  # runtimes that are another Keras backend
PREDICT_BATCH = 500
TIMING_REPRESENTATIVE = 2  # random int8 calibration samples when only the time matters:
# the converter runs each through its (slow, instrumented) reference kernels
CHILD_TIMEOUT_S = 3600


@dataclass
class Runner:
    """One model made ready on one runtime.

    Args:
        run: one forward pass on a fixed batch.
        sync: waits for ``run``'s result (``None``: the Keras backend's synchronize).
        predict: class scores (float) of a float32 batch of images, for accuracy.
        threads: the threads it runs with, as a label ("1", "TensorFlow's choice").
        details: precision, ``.tflite`` size and the like, for the result file.
    """

    run: Callable[[], Any]
    sync: Callable[[Any], None] | None
    predict: Callable[[np.ndarray], np.ndarray]
    threads: str
    details: dict[str, Any] = field(default_factory=dict)


def check_runtimes(names: Sequence[str]) -> list[str]:
    """The runtimes asked for, checked, in order, without repeats (``"tf,litert"`` split)."""
    chosen: list[str] = []
    for name in (part.strip().lower() for text in names for part in text.split(",")):
        if name not in RUNTIMES:
            raise ConvcostError(f"Unknown runtime; use {', '.join(RUNTIMES)}. Received: {name!r}.")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ConvcostError(f"No runtime given; use {', '.join(RUNTIMES)}. Received: none.")
    return chosen


def require(runtime: str) -> None:
    """Fail in one line when ``runtime`` cannot run here (its package or backend is missing)."""
    import importlib.util

    if runtime.startswith("litert") and importlib.util.find_spec("ai_edge_litert") is None:
        raise ConvcostError(f"--runtime {runtime} needs the litert extra: pip install "
                            "'convcost[litert]' (ai-edge-litert). Received: ai_edge_litert is not "
                            "installed.")
    backend = KERAS_BACKENDS.get(runtime)
    if backend is not None and importlib.util.find_spec(backend) is None:
        raise ConvcostError(f"--runtime {runtime} needs {backend} for Keras' {backend} backend: "
                            f"pip install {backend}. Received: {backend} is not installed.")
    if backend is None:
        import keras

        if keras.backend.backend() != "tensorflow":
            raise ConvcostError(f"--runtime {runtime} needs Keras on TensorFlow (it converts or "
                                f"runs the model with TensorFlow). Received: KERAS_BACKEND="
                                f"{keras.backend.backend()}.")


def set_tf_threads(threads: int) -> None:
    """Run TensorFlow's ops on ``threads`` threads; only before TensorFlow has run anything."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:
        raise ConvcostError(f"TensorFlow's thread count can only be set before it runs "
                            f"anything (once per process). Received: --threads {threads} "
                            f"after TensorFlow started.") from None


def in_process(runtime: str) -> bool:
    """Whether ``runtime`` runs in this process (jax on a TensorFlow process does not)."""
    if runtime not in KERAS_BACKENDS:
        return True
    import keras

    return keras.backend.backend() == KERAS_BACKENDS[runtime]


def prepare(runtime: str, model: Any, *, batch_size: int, threads: int | None,
            cache: ConversionCache, representative: Representative | None = None) -> Runner:
    """Make ``model`` ready to time on ``runtime`` (see the module docstring). int8 without
    ``representative`` is calibrated on :func:`timing_representative` (random inputs)."""
    if runtime == "tf" or runtime in KERAS_BACKENDS:
        return keras_runner(model, batch_size, runtime)
    if runtime == TRAINING:
        return training_runner(model, batch_size)
    precision = PRECISION[runtime]
    if precision == "int8" and representative is None:
        representative = timing_representative(model)
    blob = cache.get(model, precision, representative)
    runner = litert_runner(blob, batch_size, threads)
    runner.details.update(precision=precision, tflite_bytes=len(blob))
    return runner


def keras_runner(model: Any, batch_size: int, runtime: str = "tf") -> Runner:
    """The compiled ``model(x, training=False)`` of the current Keras backend on one batch."""
    import keras

    x = keras.ops.convert_to_tensor(random_batch(model_input_shape(model), batch_size))
    forward = compile_function(lambda batch: model(batch, training=False))
    threads = _keras_threads(keras.backend.backend())
    return Runner(lambda: forward(x), None, _keras_predict(model), threads,
                  {"precision": "fp32"})


def _keras_predict(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Class scores of a batch of images by Keras' own ``predict`` (for accuracy checks)."""
    def predict(images: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(images, batch_size=PREDICT_BATCH, verbose=0))

    return predict


def training_runner(model: Any, batch_size: int,
                    optimizer: str = TRAINING_OPTIMIZER) -> Runner:
    """One compiled training step of ``model`` on TensorFlow, on a fixed random batch.

    Forward with ``training=True``, a mean-square loss on the outputs, the gradients to every
    trainable weight and to every input, the optimizer's update of the weights. The input
    gradients are returned, so that TensorFlow cannot prune them: inside a network each
    kernel passes a gradient back, and a kernel without weights (a pool, an add) timed alone
    would otherwise time its forward pass only. (Keras skips the first layer's input gradient;
    this counts it: an upper side of a few per cent on a stem.)"""
    import keras
    import tensorflow as tf

    xs = [tf.constant(random_batch(tuple(t.shape[1:]), batch_size)) for t in model.inputs]
    weights = list(model.trainable_variables)
    update = keras.optimizers.get(optimizer)
    if weights:
        update.build(weights)

    @tf.function
    def step(inputs: list[Any]) -> Any:  # an argument: a captured batch would never be freed
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = model(inputs if len(inputs) > 1 else inputs[0], training=True)
            loss = tf.add_n([tf.reduce_mean(tf.square(y)) for y in tf.nest.flatten(outputs)])
        grads = tape.gradient(loss, [*weights, *inputs])
        if weights:
            update.apply(grads[:len(weights)], weights)
        return loss, grads[len(weights):]

    return Runner(lambda: step(xs), None, _keras_predict(model), _keras_threads("tensorflow"),
                  {"precision": "fp32", "optimizer": optimizer})


def _keras_threads(backend: str) -> str:
    if backend != "tensorflow":
        return f"{backend} default"
    import tensorflow as tf

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    return str(intra) if intra else "TF default"


def litert_runner(blob: bytes, batch_size: int, threads: int | None) -> Runner:
    """A LiteRT interpreter of ``blob`` on ``threads`` threads (1 by default), batch set."""
    interpreter, details = _interpreter(blob, batch_size, threads or 1)
    shape = tuple(int(d) for d in details["shape"][1:])
    interpreter.set_tensor(details["index"], quantize(random_batch(shape, batch_size), details))
    return Runner(interpreter.invoke, no_sync, lambda images: litert_predict(blob, images),
                  str(threads or 1))


def _interpreter(blob: bytes, batch_size: int, threads: int) -> tuple[Any, dict[str, Any]]:
    from ai_edge_litert.interpreter import Interpreter

    with captured():
        interpreter = Interpreter(model_content=blob, num_threads=threads)
        for details in interpreter.get_input_details():  # every input: an add has two
            if int(details["shape"][0]) != batch_size:
                interpreter.resize_tensor_input(details["index"],
                                                [batch_size, *details["shape"][1:]])
        interpreter.allocate_tensors()
    return interpreter, interpreter.get_input_details()[0]


def litert_predict(blob: bytes, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class scores of float32 ``images`` from a ``.tflite`` model (int8 in and out handled)."""
    interpreter, details = _interpreter(blob, batch_size, 1)
    output = interpreter.get_output_details()[0]
    scores = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        filled = np.zeros((batch_size, *chunk.shape[1:]), dtype=np.float32)
        filled[:len(chunk)] = chunk
        interpreter.set_tensor(details["index"], quantize(filled, details))
        interpreter.invoke()
        scores.append(dequantize(interpreter.get_tensor(output["index"]), output)[:len(chunk)])
    return np.concatenate(scores)


def quantize(x: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    """``x`` in the input tensor's type: int8 with its scale and zero point, else as is."""
    if details["dtype"] != np.int8:
        return x.astype(details["dtype"])
    scale, zero = details["quantization"]
    return np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)


def dequantize(y: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    """An int8 output back to float with its scale and zero point (float outputs unchanged)."""
    if details["dtype"] != np.int8:
        return np.asarray(y, dtype=np.float32)
    scale, zero = details["quantization"]
    return (y.astype(np.float32) - zero) * scale


def model_input_shape(model: Any) -> tuple[int, ...]:
    """One sample's input shape (no batch); fails in one line for a model without one."""
    shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else ()
    if not shape or any(d is None for d in shape):
        raise ConvcostError(f"Timing needs a model with one input of fixed shape. Received: "
                            f"{model.name!r} with input shape {shape or 'unknown'}.")
    return tuple(int(d) for d in shape)


def timing_representative(model: Any, count: int = TIMING_REPRESENTATIVE) -> list[np.ndarray]:
    """``count`` random samples per input of ``model``: int8 ranges for timing only (an int8
    kernel's time does not depend on its scales; accuracy needs real data, as ``bench``'s)."""
    return [random_batch(tuple(int(d) for d in t.shape[1:]), count) for t in model.inputs]


def random_batch(shape: Sequence[int], batch_size: int) -> np.ndarray:
    """A float32 batch in [0, 1) (seed 0): the timed input."""
    return np.random.default_rng(0).random((batch_size, *shape), dtype=np.float32)


def time_runners(runners: Sequence[Runner], repeats: int, warmup: int,
                 rounds: int, clock: str = "wall") -> list[Timings]:
    """Time every runner, interleaved (see :func:`convcost.measure.timing.time_interleaved`);
    ``clock`` is ``"wall"`` or ``"cpu"`` (:data:`convcost.measure.timing.CLOCKS`)."""
    return time_interleaved([r.run for r in runners], repeats, warmup, rounds=rounds,
                            syncs=[r.sync for r in runners], clock=clock)


# --- a child process on another Keras backend ----------------------------------------------------


def time_in_child(models: Sequence[Any], backend: str, *, batch_size: int, repeats: int,
                  warmup: int, rounds: int) -> tuple[list[Timings], dict[str, Any]]:
    """Time ``models`` in a child process running Keras on ``backend``; also its versions.

    The models are saved as ``.keras`` files in a temporary folder, loaded by the child and
    timed there exactly as in this process (compiled forward pass, interleaved rounds).
    """
    with tempfile.TemporaryDirectory(prefix="convcost-") as folder:
        files = []
        for number, model in enumerate(models):
            files.append(str(Path(folder) / f"{number}.keras"))
            model.save(files[-1])
        spec = {"files": files, "batch_size": batch_size, "repeats": repeats,
                "warmup": warmup, "rounds": rounds, "imports": list(imported_code())}
        result = _run_child(backend, spec)
    return [Timings(tuple(s)) for s in result["seconds"]], result["versions"]


def _run_child(backend: str, spec: dict[str, Any]) -> dict[str, Any]:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    try:
        done = subprocess.run([sys.executable, "-m", "convcost.measure.runtimes",
                               json.dumps(spec)], capture_output=True, text=True, env=env,
                              timeout=CHILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConvcostError(f"Timing on Keras' {backend} backend took over {CHILD_TIMEOUT_S} s. "
                            f"Received: {len(spec['files'])} models.") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        last = ([ln for ln in done.stderr.splitlines() if ln.strip()] or ["no output"])[-1]
        raise ConvcostError(f"Timing on Keras' {backend} backend failed in its child process: "
                            f"{last[:300]} Received: exit code {done.returncode}.")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def child_main(argv: Sequence[str]) -> None:
    """The child of :func:`time_in_child`: load, time, print one JSON line."""
    import keras

    from convcost.measure.machine import installed_version
    from convcost.models import loader

    spec = json.loads(argv[0])
    code = tuple(spec.get("imports", []))
    models = [loader.resolve(file, run=True, imports=code).model for file in spec["files"]]
    runners = [keras_runner(model, spec["batch_size"], keras.backend.backend())
               for model in models]
    timings = time_runners(runners, spec["repeats"], spec["warmup"], spec["rounds"])
    backend = keras.backend.backend()
    print(json.dumps({"seconds": [list(t.seconds) for t in timings],
                      "versions": {"backend": backend, "keras": keras.__version__,
                                   backend: installed_version(backend),
                                   "threads": runners[0].threads if runners else ""}}))


if __name__ == "__main__":
    child_main(sys.argv[1:])
