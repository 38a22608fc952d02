"""Refuse a run that cannot fit in memory, before it allocates anything.

``verify``, ``profile``, ``bench`` and ``train`` run models on data. A model asked for at a
huge size (``--input-shape 100000,100000,3``, ``--alpha 1e6``, a 70B LLM) would make
TensorFlow allocate until the process is killed, or crash. So the model is first built
shape-only (no weight allocated; :mod:`convcost.count.scope`), counted, and its run's memory
estimated from the counts; only a run that can fit is built for real.

The estimate is a lower bound, so nothing that fits is refused:

* inference (``verify``, ``profile``, ``bench``): the weights plus the largest layer call's
  inputs and output for the batch (:attr:`convcost.analysis.memory.Memory.peak_bytes`);
* training (``train``): weights, gradients, two Adam slots per weight, the activations the
  backward pass keeps and the input batch (:mod:`convcost.analysis.training_memory`).

It is compared with :func:`convcost.measure.machine.available_memory` (``MemAvailable``,
capped by a container's limit); where that is unknown, nothing is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.count.report import Report
from convcost.errors import ConvcostError
from convcost.models.loader import Request, Resolved


@dataclass(frozen=True)
class RunMemory:
    """The least memory a run needs: its weights (and optimizer state) and its activations."""

    weight_bytes: int
    activation_bytes: int
    batch: int

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes


def run_memory(report: Report, *, batch: int = 1, training: bool = False,
               dtype: str = "float32") -> RunMemory:
    """The lower bound of the memory a forward pass (or a training step) of ``report``'s model
    needs for ``batch`` samples; see the module docstring."""
    from convcost.analysis.memory import dtype_bytes, memory

    if not training:
        size = dtype_bytes(dtype)
        return RunMemory(report.keras_count_params * size,
                         memory(report, batch=batch, dtype=dtype).peak_bytes, batch)
    from convcost.analysis.optimizers import Slots
    from convcost.analysis.training import training_cost
    from convcost.analysis.training_memory import training_memory

    params = report.trainable_params
    step = training_memory(training_cost(report), Slots("Adam", 2 * params, 2, params),
                           batch=batch, dtype=dtype)
    weights = step.weight_bytes + step.gradient_bytes + step.slot_bytes
    return RunMemory(weights, step.peak_bytes - weights, batch)


def check_fits(report: Report, *, purpose: str, batch: int = 1, training: bool = False,
               available: int | None = None) -> None:
    """Raise a one-line :class:`ConvcostError` when ``report``'s run cannot fit in memory.

    Args:
        report: the model's counts (from a shape-only build: nothing allocated yet).
        purpose: what would run, for the message, e.g. ``"verify"``.
        batch: samples per call.
        training: a training step (weights, gradients, optimizer slots, kept activations).
        available: bytes free; default :func:`convcost.measure.machine.available_memory`.
    """
    from convcost.measure.machine import available_memory, size_text

    free = available_memory() if available is None else available
    need = run_memory(report, batch=batch, training=training)
    if free is None or need.total_bytes <= free:
        return
    weights = "weights, gradients and optimizer state" if training else "weights"
    raise ConvcostError(
        f"{purpose} would need at least {size_text(need.total_bytes)} of memory ({weights} "
        f"{size_text(need.weight_bytes)}, activations {size_text(need.activation_bytes)} at "
        f"batch {batch}) and this machine has {size_text(free)} available; try a smaller "
        f"input, width or batch ('convcost analyze' counts any size without allocating). "
        f"Received: "
        f"{report.model!r} with input {_shape(report)}.")


def resolve_fitting(asked: Request, *, purpose: str, batch: int = 1,
                    training: bool = False) -> Resolved:
    """The model ``asked`` names, built (or loaded) for a run only once the run is known to
    fit: :func:`convcost.models.loader.resolve` with :func:`check_fits` as its guard."""
    import functools

    from convcost.models import loader

    _check_not_text(asked, purpose)
    guard = functools.partial(check_fits, purpose=purpose, batch=batch, training=training)
    return loader.resolve(asked, run=True, guard=guard)


def check_request(asked: Request, *, purpose: str, batch: int = 1,
                  training: bool = False) -> None:
    """:func:`check_fits` for the model ``asked`` names, built shape-only (a file is loaded)."""
    from convcost.models import loader

    _check_not_text(asked, purpose)
    check_fits(loader.count(loader.resolve(asked)), purpose=purpose, batch=batch,
               training=training)


def _check_not_text(asked: Request, purpose: str) -> None:
    """Runs feed images; a zoo text model (token inputs) is counted by ``analyze`` instead."""
    spec = asked.spec
    if not asked.is_file and asked.seq_len is not None:
        raise ConvcostError(
            f"{purpose} runs models on images; {spec.source!r} is a text model (token inputs): "
            f"count it with 'convcost analyze {spec.source} --seq-len L'. Received: "
            f"{spec.source!r}.")


def _shape(report: Report) -> str:
    if report.multi_input:
        return ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in report.inputs)
    return "x".join(str(d) for d in report.input_shape)
