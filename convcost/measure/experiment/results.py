"""Result files of a run: epochs.csv and epochs.json rewritten atomically after every epoch."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from convcost.analysis.data_parallel import allreduce, scaling
from convcost.analysis.roofline import GIGA
from convcost.errors import ConvcostError
from convcost.files import atomic_path, write_text
from convcost.measure.data import Prepared
from convcost.measure.experiment.callbacks import EVAL_BATCH
from convcost.measure.experiment.config import TrainConfig
from convcost.measure.experiment.records import EpochRow, ModelRun, ModelSummary

ROW_FIELDS = [f.name for f in fields(EpochRow)]


@dataclass
class ResultsFolder:
    """The result files of one run; every epoch rewrites epochs.csv and epochs.json atomically.

    Args:
        path: the folder (created).
        meta: settings, machine and data description, stored in every JSON file.
    """

    path: Path
    meta: dict[str, Any]
    rows: list[EpochRow] = field(default_factory=list)
    runs: list[ModelRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConvcostError(f"Cannot create the results folder: {error.strerror}. "
                                f"Received: {str(self.path)!r}.") from None

    def add(self, row: EpochRow) -> None:
        """Record a finished epoch and rewrite epochs.csv and epochs.json."""
        self.rows.append(row)
        write_text(self.path / "epochs.csv", rows_csv(self.rows), make_parents=True)
        self._write_epochs_json()

    def add_run(self, run: ModelRun) -> None:
        """Record a finished model (its fit timing) and rewrite epochs.json."""
        self.runs.append(run)
        self._write_epochs_json()

    def _write_epochs_json(self) -> None:
        self.write_json("epochs.json", {"epochs": [asdict(r) for r in self.rows],
                                        "fits": [fit_dict(run) for run in self.runs]})

    def save_model(self, name: str, model: Any) -> Path:
        """Save a trained model as ``models/<name>.keras`` (atomically), so that ``bench`` and
        ``analyze`` can use it (``convcost bench <folder>/models/v1.keras --runtime litert``)."""
        target = self.path / "models" / f"{name}.keras"
        with atomic_path(target, make_parents=True, what="model file") as temp:
            model.save(temp)
        return target

    def write_json(self, name: str, payload: dict[str, Any]) -> Path:
        """Write ``payload`` (with the meta data) as ``name``, atomically."""
        target = self.path / name
        write_text(target, json.dumps(self.meta | payload, indent=2) + "\n", make_parents=True)
        return target


def rows_csv(rows: Sequence[EpochRow]) -> str:
    """The epoch rows as CSV, floats at full precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return buffer.getvalue()


def fit_dict(run: ModelRun) -> dict[str, Any]:
    """The fit timing of a run, with its derived gap."""
    return {"model": run.model, "device": run.device, **asdict(run.timing),
            "gap_s": run.timing.gap_s}


def summary_dict(summary: ModelSummary, peak_gflops: float | None = None) -> dict[str, Any]:
    """A summary with its derived numbers (FLOPs exact, rates as floats).

    ``train_flops_per_epoch`` is the per-layer count (``training_flops`` x samples);
    ``train_flops_per_epoch_3x`` the old 3 x forward estimate; ``predicted_epoch_s_at_peak``
    the compute-bound time at the matmul peak (a lower bound).
    """
    at_peak = (summary.train_flops_per_epoch / (peak_gflops * GIGA) if peak_gflops else None)
    derived = {"train_flops_per_epoch": summary.train_flops_per_epoch,
               "train_flops_per_epoch_3x": summary.train_flops_per_epoch_3x,
               "throughput_samples_per_s": summary.throughput,
               "achieved_gflops": summary.achieved_gflops, "flagged": summary.flagged,
               "share_of_peak": summary.achieved_gflops / peak_gflops if peak_gflops else None,
               "steady_step_s": summary.steady_step_s, "predicted_epoch_s_at_peak": at_peak}
    return asdict(summary) | derived


def distribution_dict(run: ModelRun, summary: ModelSummary,
                      peak_gflops: float | None) -> dict[str, Any] | None:
    """Predicted vs measured step of a ``--distribute`` run: compute + gradient all-reduce.

    Compute = training FLOPs of the global batch at the matmul peak, divided among the
    replicas only on GPUs (logical CPU devices share the same cores); the all-reduce from
    :mod:`convcost.analysis.data_parallel` with the measured copy bandwidth and the default
    latency. Also the scaling predicted for 1..16 separate devices of this peak.
    """
    info = run.distribution
    if info is None:
        return None
    replicas = int(info["replicas"])
    reduce = allreduce(run.trainable_params, run.trainable_tensors, replicas,
                       bandwidth=info["copy_bandwidth"])
    step_flops = summary.train_flops_per_epoch / max(1, summary.steps)
    shared = not any("GPU" in device.upper() for device in info["devices"])
    result = info | {"model": run.model, "trainable_params": run.trainable_params,
                     "tensors": run.trainable_tensors, "allreduce_bytes": reduce.bytes,
                     "ring_bytes_per_device": reduce.ring_bytes,
                     "latency_s": reduce.latency_s, "predicted_allreduce_s": reduce.seconds,
                     "measured_step_s": summary.steady_step_s, "devices_share_compute": shared}
    if peak_gflops:
        compute = step_flops / (peak_gflops * GIGA) / (1 if shared else replicas)
        result |= {"predicted_compute_s": compute, "predicted_step_s": compute + reduce.seconds,
                   "scaling": [asdict(p) | {"step_s": p.step_s, "efficiency": p.efficiency}
                               for p in scaling(int(step_flops), peak_gflops * GIGA,
                                                run.trainable_params, run.trainable_tensors,
                                                bandwidth=info["copy_bandwidth"])]}
    return result







def run_meta(config: TrainConfig, data: Prepared, machine: dict[str, Any]) -> dict[str, Any]:
    """What every result file carries: settings, data and machine."""
    return {"config": asdict(config) | {"loss": "categorical_crossentropy",
                                        "eval_batch_size": EVAL_BATCH},
            "data": {"source": data.source, "train_samples": data.train_samples,
                     "test_samples": data.test_samples},
            "machine": machine}


