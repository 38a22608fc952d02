"""Cells, summary lines and JSON keys of ``analyze --training`` (the data comes from
:class:`convcost.analysis.training.TrainingFields`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.render.units import exact, human

if TYPE_CHECKING:
    from convcost.analysis.training import TrainingFields

HEADERS = ["grads", "dx MACs", "dW MACs", "train MACs"]
CSV_KEYS = ("trainable", "needs_input_grad", "input_grad_macs", "weight_grad_macs",
            "training_macs", "training_flops")
MIB = 2**20


def gradients_mark(fields: dict[str, Any]) -> str:
    """Which gradients run: ``dx+dW``, ``dW`` (nothing trainable before it), ``dx`` (frozen
    above trainable layers) or ``-`` (frozen prefix: no backward at all)."""
    marks = [name for name, on in (("dx", fields["needs_input_grad"]),
                                   ("dW", fields["trainable"])) if on]
    return "+".join(marks) or "-"


def cells(fields: dict[str, Any]) -> list[str]:
    """Table cells of one row's training fields (exact integers)."""
    return [gradients_mark(fields), exact(fields["input_grad_macs"]),
            exact(fields["weight_grad_macs"]), exact(fields["training_macs"])]


def total_cells(training: TrainingFields) -> list[str]:
    totals = training.total_fields()
    return ["", exact(totals["input_grad_macs"]), exact(totals["weight_grad_macs"]),
            exact(totals["training_macs"])]


def csv_cells(fields: dict[str, Any]) -> list[Any]:
    return [str(fields[key]).lower() if isinstance(fields[key], bool) else fields[key]
            for key in CSV_KEYS]


def lines(training: TrainingFields, batch: int | None = None) -> list[str]:
    """Summary lines: the training MACs and FLOPs, per step, what is skipped, the memory."""
    cost = training.cost
    t = training.total_fields()
    result = [f"training per sample: {exact(t['forward_macs'])} forward + "
              f"{exact(t['input_grad_macs'])} input-gradient + {exact(t['weight_grad_macs'])} "
              f"weight-gradient = {exact(t['training_macs'])} MACs ({cost.ratio:.3f}× forward) "
              f"· {exact(t['training_flops'])} FLOPs (3 × forward: "
              f"{exact(3 * cost.report.flops)})"]
    if batch is not None and batch != 1:
        step = training.total_fields(batch)
        result.append(f"training per step of {batch}: {human(step['training_macs'])} MACs · "
                      f"{human(step['training_flops'])} FLOPs ({exact(step['training_macs'])} "
                      f"MACs, {exact(step['training_flops'])} FLOPs)")
    result.append(_skipped_line(training))
    if training.memory is not None:
        result += memory_lines(training)
    return result


def _skipped_line(training: TrainingFields) -> str:
    rows = training.cost.rows
    frozen = [r.row.path for r in rows if not r.trainable and r.row.macs]
    no_dx = [r.row.path for r in rows if not r.needs_input_grad and r.row.macs]
    parts = [f"gradients: {exact(training.cost.trainable_params)} trainable params",
             f"no input gradient for {_names(no_dx)} (nothing trainable before it)"]
    if frozen:
        parts.append(f"no weight gradient for {_names(frozen)} (frozen or no weights)")
    return "; ".join(parts)


def _names(paths: list[str], shown: int = 3) -> str:
    if not paths:
        return "no layer"
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")


def memory_lines(training: TrainingFields) -> list[str]:
    """The step's memory estimate by part, and the measured peak beside it when known."""
    m = training.memory
    result = [f"training memory per step (batch {m.batch}, {m.dtype}, {m.slots.optimizer}: "
              f"{m.slots.per_weight:g} slot values per weight): weights {_mib(m.weight_bytes)} "
              f"+ optimizer slots {_mib(m.slot_bytes)} + input {_mib(m.input_bytes)} + "
              f"gradients {_mib(m.gradient_bytes)} + kept activations {_mib(m.kept_bytes)} "
              f"({len(m.kept)} tensors) + in flight {_mib(m.in_flight_bytes)} = "
              f"{_mib(m.peak_bytes)} MiB (a step adds {_mib(m.step_bytes)})"]
    measured = training.measured_step_bytes
    if measured is not None:
        ratio = m.step_bytes / measured if measured else float("nan")
        result.append(f"measured (TensorFlow's allocator, BFC statistics): a step adds "
                      f"{_mib(measured)} MiB over {_mib(training.measured_rest_bytes or 0)} at "
                      f"rest; estimate / measured = {ratio:.2f}")
    return result


def _mib(value: int) -> str:
    return f"{value / MIB:,.2f}"


def add_json(data: dict[str, Any], training: TrainingFields, layer_fields: list[dict[str, Any]],
             batch: int | None) -> None:
    """Add the --training keys to ``data`` (layers, totals, per_batch, memory); none changed."""
    for layer, fields in zip(data["layers"], layer_fields):
        layer["training"] = fields
    totals = training.total_fields()
    data["totals"].update(training_macs=totals["training_macs"],
                          training_flops=totals["training_flops"], training=totals)
    if batch is not None and "per_batch" in data:
        step = training.total_fields(batch)
        data["per_batch"].update(training_macs=step["training_macs"],
                                 training_flops=step["training_flops"], training=step)
    if training.memory is not None:
        data["training_memory"] = training.memory.as_dict()
    if training.measured_step_bytes is not None:
        data["training_memory_measured"] = {
            "rest_bytes": training.measured_rest_bytes,
            "peak_bytes": training.measured_peak_bytes,
            "step_bytes": training.measured_step_bytes,
            "source": "tf.config.experimental.get_memory_info (TF_CPU_ALLOCATOR_USE_BFC=true)"}
