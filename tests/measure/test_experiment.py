"""Training harness: settings, the summary's arithmetic, the epoch timer, a real 2-epoch run."""

from __future__ import annotations

import csv
import json
import math
import re
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from convcost.errors import ConvcostError
from convcost.measure import data, experiment
from convcost.measure.experiment import EpochRow, FitTiming, ModelRun
from convcost.render.experiment import summary_markdown, summary_table

# Verified independently (preamble / FINDINGS.md: Keras count_params and TF's profiler).
NAIVE = dict(params=259_082, macs=25_362_816)
V1 = dict(params=48_330, macs=3_109_760)
V2_PARAMS = 28_122
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- settings --------------------------------------------------------------------------------


def test_article_preset_and_overrides() -> None:
    article = experiment.make_config("article")
    assert (article.optimizer, article.learning_rate, article.batch_size, article.epochs,
            article.subset) == ("rmsprop", 1e-3, 8, 10, None)
    mine = experiment.make_config("article", batch_size=32, epochs=None, subset=500)
    assert (mine.optimizer, mine.batch_size, mine.epochs, mine.subset) == ("rmsprop", 32, 10, 500)


@pytest.mark.parametrize(("preset", "options", "match"), [
    ("paper", {}, r"Unknown preset.*Received: 'paper'"),
    (None, {"optimizer": "lamb"}, r"optimizer must be one of adam, rmsprop, sgd.*'lamb'"),
    (None, {"epochs": 0}, r"epochs must be a positive integer. Received: epochs=0"),
    (None, {"learning_rate": -1.0}, r"learning_rate must be a positive number"),
    (None, {"device": "tpu"}, r"device must be one of auto, cpu, gpu"),
])
def test_bad_settings(preset, options, match: str) -> None:
    with pytest.raises(ConvcostError, match=match):
        experiment.make_config(preset, **options)


# --- arithmetic, from hand numbers -----------------------------------------------------------


def _row(model: str, epoch: int, train_s: float) -> EpochRow:
    return EpochRow(model, epoch, epoch == 1, 60_000, 469, 128, train_s, 1.0, 0.5, 0.9, 0.4, 0.9)


def _run(model: str, macs: int, forward_flops: int, times: list[float]) -> ModelRun:
    rows = tuple(_row(model, i + 1, t) for i, t in enumerate(times))
    return ModelRun(model, 1, macs, forward_flops, "cpu:0", rows,
                    FitTiming(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))


def test_summary_arithmetic_from_hand_numbers() -> None:
    # naive: epochs 130 (warm-up), 128, 126 -> steady median of (128, 126) = 127 s.
    # v1: epochs 40 (warm-up), 29, 31, 30 -> steady median of (29, 31, 30) = 30 s.
    runs = [_run("naive", 25_362_816, 51_000_000, [130.0, 128.0, 126.0]),
            _run("v1", 3_109_760, 6_400_000, [40.0, 29.0, 31.0, 30.0])]
    naive, v1 = experiment.summarize(runs)
    assert (naive.first_epoch_s, naive.steady_epoch_s, naive.steady_epochs) == (130.0, 127.0, 2)
    assert (v1.steady_epoch_s, v1.steady_epochs, v1.flagged) == (30.0, 3, False)
    # training FLOPs per epoch: 3 * 51,000,000 * 60,000 = 9,180,000,000,000 (exact integer)
    assert naive.train_flops_per_epoch == 9_180_000_000_000
    assert naive.achieved_gflops == pytest.approx(9_180 / 127)  # 72.28 GFLOP/s
    assert naive.throughput == pytest.approx(60_000 / 127)
    assert v1.achieved_gflops == pytest.approx(3 * 6.4e6 * 60_000 / 30 / 1e9)  # 38.4 GFLOP/s
    assert v1.predicted_speedup == pytest.approx(25_362_816 / 3_109_760)  # 8.156
    assert v1.measured_speedup == pytest.approx(127 / 30)  # 4.233
    assert naive.predicted_speedup == naive.measured_speedup == 1.0


def test_single_epoch_is_used_and_flagged() -> None:
    (only,) = experiment.summarize([_run("v1", 10, 20, [12.5])])
    assert (only.steady_epoch_s, only.steady_epochs, only.flagged) == (12.5, 0, True)
    text = summary_markdown([only], [], _meta(), None)
    assert "| 12.50 * |" in text and "Only one epoch ran" in text


def test_fit_gap_is_what_epochs_and_evaluation_do_not_explain() -> None:
    timing = FitTiming(fit_s=50.0, setup_s=1.0, epochs_s=40.0, eval_s=3.0, bookkeeping_s=0.5,
                       return_s=5.5, return_cpu_s=0.1)
    assert timing.gap_s == pytest.approx(7.0)  # 50 - 40 - 3


def test_stall_watch_names_where_the_main_thread_waits(monkeypatch) -> None:
    monkeypatch.setattr(experiment.callbacks, "STALL_AFTER_S", 0.05)
    watch = experiment.StallWatch()
    time.sleep(0.4)  # the "stall": this very line
    stack = watch.stop()
    assert "test_stall_watch_names_where_the_main_thread_waits" in stack
    # returned in time: nothing recorded (a threshold no scheduler delay reaches, not 50 ms)
    monkeypatch.setattr(experiment.callbacks, "STALL_AFTER_S", 600)
    assert experiment.StallWatch().stop() == ""


def test_per_layer_training_flops_drive_the_prediction() -> None:
    # naive 152,280,912 and v1 18,862,928 training FLOPs per sample; naive's steady epoch
    # 127 s -> v1 predicted at naive's rate: 127 x 18,862,928 / 152,280,912 = 15.73 s
    runs = [replace(_run("naive", 25_362_816, 51_000_000, [130.0, 128.0, 126.0]),
                    training_flops=152_280_912),
            replace(_run("v1", 3_109_760, 6_400_000, [40.0, 29.0, 31.0, 30.0]),
                    training_flops=18_862_928)]
    naive, v1 = experiment.summarize(runs)
    assert naive.train_flops_per_epoch == 152_280_912 * 60_000
    assert v1.predicted_speedup == pytest.approx(152_280_912 / 18_862_928)  # 8.07
    assert v1.predicted_speedup_macs == pytest.approx(25_362_816 / 3_109_760)  # 8.16
    assert v1.predicted_epoch_s == pytest.approx(127 * 18_862_928 / 152_280_912)
    assert v1.predicted_epoch_s_3x == pytest.approx(127 * 6_400_000 / 51_000_000)
    assert v1.steady_step_s == pytest.approx(30 / 469)
    as_dict = experiment.summary_dict(v1, peak_gflops=100.0)
    assert as_dict["predicted_epoch_s_at_peak"] == pytest.approx(18_862_928 * 60_000 / 1e11)


def test_a_calibrated_step_predicts_the_epoch_before_training() -> None:
    # 469 steps per epoch (_row) at a predicted 62.5 ms step: 29.3125 s; measured 30 s
    run = replace(_run("v1", 3_109_760, 6_400_000, [40.0, 29.0, 31.0, 30.0]),
                  predicted_step_s=0.0625)
    (v1, naive) = experiment.summarize([run, _run("naive", 25_362_816, 51_000_000, [130.0])])
    assert v1.calibrated_epoch_s == pytest.approx(469 * 0.0625)
    assert math.isnan(naive.calibrated_epoch_s)  # no profile, no number (never zero)
    text = summary_markdown([v1, naive], [], _meta(), None)
    assert "| v1 | 469 | 62.50 | 29.31 | 30.00 | -2.3% |" in text
    table = summary_table([v1, naive], width=None)
    assert "predicted" in table and "29.31" in table


@pytest.mark.parametrize(("options", "device", "why"), [
    ({}, "gpu:0", "one CPU process"),
    ({"distribute": "mirrored"}, "cpu:0", "one CPU process"),
    ({"optimizer": "sgd"}, "cpu:0", "calibrated with adam; this run uses sgd"),
    ({"batch_size": 32}, "cpu:0", r"no training-step profile; 'convcost calibrate --runtime "
                                  r"tf-train --threads \d+ --batch-size 32' makes one"),
])
def test_why_a_run_has_no_calibrated_step(options, device, why, tmp_path, monkeypatch) -> None:
    from convcost.measure.experiment.calibrated import step_profile

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no saved profile there
    found = step_profile(experiment.make_config(**options), device)
    assert found.profile is None and re.search(why, found.why)
    assert found.step_seconds(None) is None


def test_a_saved_training_step_profile_is_found_and_predicts(synthetic_profile, tmp_path,
                                                             monkeypatch, zoo_model) -> None:
    import dataclasses

    from convcost.analysis import latency
    from convcost.count.walker import analyze
    from convcost.measure.experiment.calibrated import step_profile
    from convcost.measure.machine import usable_cpus

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    saved = latency.load(synthetic_profile, command="-")
    mine = dataclasses.replace(saved, runtime="tf-train", threads=usable_cpus(), batch=16)
    path = latency.save(mine, latency.default_path("tf-train", usable_cpus(), 16))
    found = step_profile(experiment.make_config(batch_size=16), "cpu:0")
    assert found.profile is not None and found.why == str(path)
    assert found.step_seconds(analyze(zoo_model("v1"))) > 0


def test_share_of_peak_in_summary_dict() -> None:
    (naive,) = experiment.summarize([_run("naive", 1, 51_000_000, [130.0, 127.0])])
    as_dict = experiment.summary_dict(naive, peak_gflops=144.56)
    assert as_dict["share_of_peak"] == pytest.approx(9_180 / 127 / 144.56)  # 0.5
    assert as_dict["train_flops_per_epoch"] == 9_180_000_000_000


def _meta() -> dict:
    machine = dict(cpu="X", usable_cpus=2, cpu_count=2, gpus=[], tensorflow="t", keras="k",
                   backend="tensorflow", python="3", inter_op_threads=0, intra_op_threads=0)
    config = dict(epochs=1, batch_size=8, optimizer="rmsprop", learning_rate=0.001,
                  loss="categorical_crossentropy", pipeline="tfdata", seed=0, device="auto")
    return dict(machine=machine, config=config,
                data=dict(source="s", train_samples=1, test_samples=1))


# --- the epoch timer -------------------------------------------------------------------------


def test_evaluation_is_timed_apart_from_the_epoch(monkeypatch) -> None:
    """A clock that moves only when told: 0.1 s of epoch, then 0.3 s of evaluation, exactly."""
    clock = [100.0]
    monkeypatch.setattr(experiment.callbacks, "time",
                        SimpleNamespace(perf_counter=lambda: clock[0],
                                        process_time=time.process_time))

    class SlowModel:
        def evaluate(self, *args, **kwargs):
            clock[0] += 0.3
            return {"loss": 2.0, "accuracy": 0.25}

    prepared = SimpleNamespace(x_test=None, y_test=None, train_samples=100)
    seen: list[EpochRow] = []
    timer = experiment.EpochTimer("m", prepared, 32, seen.append)  # type: ignore[arg-type]
    timer.set_model(SlowModel())
    timer.on_epoch_begin(0)
    clock[0] += 0.1
    timer.on_epoch_end(0, {"loss": 1.5, "accuracy": 0.5})
    (row,) = seen
    assert (row.train_s, row.eval_s) == (pytest.approx(0.1), pytest.approx(0.3))
    assert (row.steps, row.test_loss, row.test_accuracy, row.warmup) == (4, 2.0, 0.25, True)


def test_gpu_without_gpu_is_an_error() -> None:
    import keras

    if keras.distribution.list_devices("gpu"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConvcostError, match=r"--device gpu .* no GPU. Received: devices"):
        experiment.resolve_device("gpu")
    assert experiment.resolve_device("auto") == "cpu:0"


# --- a real run on a small slice of MNIST ----------------------------------------------------


@pytest.mark.slow
def test_run_counts_match_the_reference_values(small_run) -> None:
    naive, v1, v2 = small_run.runs
    assert (naive.params, naive.macs) == (NAIVE["params"], NAIVE["macs"])
    assert (v1.params, v1.macs) == (V1["params"], V1["macs"])
    assert v2.params == V2_PARAMS
    assert all(run.device == "cpu:0" for run in small_run.runs)


@pytest.mark.slow
def test_run_learns(small_run) -> None:
    with open(small_run.folder.path / "epochs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["epoch"]) for r in rows] == [
        (m, e) for m in ("naive", "v1", "v2") for e in ("1", "2")]
    for model in ("naive", "v1", "v2"):
        first, second = (r for r in rows if r["model"] == model)
        losses = [float(first["train_loss"]), float(second["train_loss"])]
        assert all(math.isfinite(x) for x in losses) and losses[1] < losses[0], model
        assert (first["warmup"], second["warmup"]) == ("True", "False")
        assert (int(first["samples"]), int(first["steps"])) == (512, 8)  # 512 / 64
    assert max(float(r["train_accuracy"]) for r in rows if r["epoch"] == "2") > 0.1


@pytest.mark.slow
def test_run_times_are_consistent(small_run) -> None:
    for run in small_run.runs:
        t = run.timing
        assert all(row.train_s > 0 and row.eval_s > 0 for row in run.rows)
        assert t.epochs_s == pytest.approx(sum(row.train_s for row in run.rows))
        # fit's wall time holds the epochs and evaluations, and the parts add up to it
        assert t.fit_s >= t.epochs_s + t.eval_s
        parts = t.setup_s + t.epochs_s + t.eval_s + t.bookkeeping_s + t.return_s
        assert parts == pytest.approx(t.fit_s, abs=1e-6)


@pytest.mark.slow
def test_run_writes_every_file(small_run) -> None:
    path = small_run.folder.path
    names = {p.name for p in small_run.written} | {"epochs.csv", "epochs.json", "models"}
    assert sorted(p.name for p in path.iterdir()) == sorted(names)  # no temp files left
    saved = sorted(p.name for p in (path / "models").iterdir())
    assert saved == ["naive.keras", "v1.keras", "v2.keras"]  # trained models, for bench
    for name in ("convergence.png", "speed.png"):
        from matplotlib import image

        assert (path / name).read_bytes()[:8] == PNG_SIGNATURE
        assert image.imread(path / name).shape[0] > 100
    epochs = json.loads((path / "epochs.json").read_text())
    with open(path / "epochs.csv", newline="") as handle:
        csv_losses = [float(r["train_loss"]) for r in csv.DictReader(handle)]
    assert [r["train_loss"] for r in epochs["epochs"]] == csv_losses  # exact, both ways
    assert epochs["config"]["batch_size"] == 64 and len(epochs["fits"]) == 3


@pytest.mark.slow
def test_run_summary_numbers(small_run) -> None:
    path = small_run.folder.path
    summary = json.loads((path / "summary.json").read_text())["summary"]
    naive, v1, _ = summary
    naive_steady = small_run.runs[0].rows[1].train_s  # 2 epochs: the steady one is epoch 2
    v1_steady = small_run.runs[1].rows[1].train_s
    # training FLOPs per sample, counted per layer: naive 152,280,912, v1 18,862,928
    # (hand counts of their MACs in tests/analysis/test_training.py)
    assert v1["predicted_speedup"] == pytest.approx(152_280_912 / 18_862_928)
    assert v1["predicted_speedup_macs"] == pytest.approx(25_362_816 / 3_109_760)
    assert v1["measured_speedup"] == pytest.approx(naive_steady / v1_steady)
    # forward FLOPs = 2 x MACs + other; TF's profiler finds 0-4 % above 2 x MACs (FINDINGS.md)
    assert 2 * 25_362_816 <= naive["forward_flops"] <= 1.04 * 2 * 25_362_816
    assert naive["train_flops_per_epoch"] == 152_280_912 * 512
    assert naive["train_flops_per_epoch_3x"] == 3 * naive["forward_flops"] * 512
    assert v1["predicted_epoch_s"] == pytest.approx(naive_steady * 18_862_928 / 152_280_912)
    assert naive["share_of_peak"] == pytest.approx(naive["achieved_gflops"] / 100.0)
    markdown = (path / "summary.md").read_text()
    assert "| v1 | 48,330 | 3,109,760 |" in markdown and "8.07x" in markdown


@pytest.mark.slow
def test_interrupt_keeps_finished_epochs(mnist_path: Path, tmp_path: Path) -> None:
    import keras

    class StopAfterFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    prepared = data.prepare(data.load_mnist(mnist_path), subset=128, test_subset=64)
    config = experiment.make_config(epochs=3, batch_size=64, pipeline="arrays")
    folder = experiment.ResultsFolder(tmp_path, {})
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(["v1"], prepared, config, folder, callbacks=[StopAfterFirst()])
    with open(tmp_path / "epochs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["epoch"]) for r in rows] == [("v1", "1")]
    assert np.isfinite(float(rows[0]["test_loss"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epochs.csv", "epochs.json"]
