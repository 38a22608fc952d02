"""``convcost train`` and ``convcost bench`` through the CLI: outputs, interruption, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from convcost.measure import experiment
from tests.conftest import assert_one_line_error, run_cli, run_ok

AFTER_PROGRESS = {"after_progress": True, "stdout_empty": False}


@pytest.mark.slow
def test_train_subset_with_preset_overrides(mnist_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_cli(*[
        "train", "v1", "--data", str(mnist_path), "--preset", "article", "--epochs", "2",
        "--batch-size", "64", "--subset", "256", "--test-subset", "128", "--no-peak",
        "--pipeline", "tfdata", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"epochs.csv", "epochs.json", "summary.json",
                                               "summary.md", "convergence.png", "speed.png",
                                               "models"}
    assert [p.name for p in (out / "models").iterdir()] == ["v1.keras"]  # the trained model
    config = json.loads((out / "summary.json").read_text())["config"]
    # the preset's optimizer and rate stay; the explicit options win over its 8 and 10
    assert (config["optimizer"], config["learning_rate"]) == ("rmsprop", 1e-3)
    assert (config["batch_size"], config["epochs"], config["subset"]) == (64, 2, 256)
    assert config["pipeline"] == "tfdata"
    assert "48.33 K" in result.stdout  # v1's params in the printed summary


@pytest.mark.slow
def test_interrupted_run_keeps_epoch_one(mnist_path: Path, tmp_path: Path, monkeypatch) -> None:
    original = experiment.EpochTimer.on_epoch_end

    def interrupt_after_first(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(experiment.EpochTimer, "on_epoch_end", interrupt_after_first)
    out = tmp_path / "cut"
    result = run_cli(*["train", "v1", "--data", str(mnist_path), "--epochs", "3",
                                 "--batch-size", "64", "--subset", "128", "--test-subset", "64",
                                 "--out", str(out)])
    assert_one_line_error(result, 130,
                          r"Interrupted; the 1 finished epoch\(s\) are in .*epochs.csv",
                          **AFTER_PROGRESS)
    with open(out / "epochs.csv", newline="") as handle:
        assert [(r["model"], r["epoch"]) for r in csv.DictReader(handle)] == [("v1", "1")]
    assert not (out / "summary.md").exists()


def test_bench_json(tmp_path: Path) -> None:
    result = run_cli(*["bench", "naive", "v1", "--batch-size", "4", "--repeats", "3",
                                 "--warmup", "1", "--peak-size", "256", "--peak-repeats", "3",
                                 "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    naive, v1 = payload["models"]
    assert (naive["macs"], v1["macs"]) == (25_362_816, 3_109_760)
    assert v1["predicted_speedup"] == pytest.approx(25_362_816 / 3_109_760)
    assert v1["measured_speedup"] == pytest.approx(naive["median_s"] / v1["median_s"])
    assert payload["peak"]["flops"] == 2 * 256**3
    assert v1["share_of_peak"] == pytest.approx(v1["achieved_gflops"] / payload["peak"]["gflops"])
    assert len(v1["seconds"]) == 3 and payload["machine"]["backend"] == "tensorflow"


def test_bench_table() -> None:
    result = run_cli(*["bench", "v1", "--batch-size", "2", "--repeats", "2",
                                 "--warmup", "1", "--peak-size", "128", "--peak-repeats", "2"])
    assert result.exit_code == 0, result.output
    assert "3.11 M" in result.stdout and "GFLOP/s" in result.stdout  # v1's MACs


@pytest.mark.parametrize(("args", "match"), [
    (["train", "mobilnet_v9"], r"Unknown model name. Received: 'mobilnet_v9'"),
    (["bench", "v1", "nive"], r"Unknown model name. Received: 'nive'. Did you mean 'naive'"),
    (["train", "v1", "--data", "/nonexistent/mnist.npz"], r"MNIST path does not exist"),
    (["train", "v1", "--optimizer", "adagrad"],
     r"--optimizer.*'adagrad' is not one of 'adam', 'rmsprop', 'sgd'"),
    (["bench", "v1", "--repeats", "0"], r"repeats must be a positive integer"),
])
def test_errors(args: list[str], match: str, tmp_path: Path) -> None:
    args = [*args, "--out", str(tmp_path)] if args[0] == "train" else args
    assert_one_line_error(run_cli(*args), 1, match, **AFTER_PROGRESS)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_gpu_requested_without_gpu(mnist_path: Path, tmp_path: Path) -> None:
    import keras

    if keras.distribution.list_devices("gpu"):
        pytest.skip("this machine has a GPU")
    result = run_cli(*["train", "v1", "--data", str(mnist_path), "--device", "gpu",
                                 "--subset", "64", "--out", str(tmp_path / "gpu")])
    assert_one_line_error(result, 1, r"--device gpu was asked for, but the tensorflow backend "
                                     r"sees no GPU", **AFTER_PROGRESS)
    assert not (tmp_path / "gpu").exists()


def test_no_data_and_no_network(tmp_path: Path, monkeypatch) -> None:
    import keras

    def offline():
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("CONVCOST_MNIST", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    result = run_cli(*["train", "v1", "--out", str(tmp_path / "x")])
    assert_one_line_error(result, 1, r"pass --data PATH .* or set CONVCOST_MNIST", **AFTER_PROGRESS)


# --- model files, where the data came from, data-parallel training ---------------------------


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """v1 saved as .keras (MNIST-shaped), and a model of the wrong shape."""
    import keras

    from convcost.models import zoo

    folder = tmp_path_factory.mktemp("models")
    zoo.build("v1").save(folder / "v1_file.keras")
    x = keras.Input((32, 32, 3))
    wrong = keras.Model(x, keras.layers.Dense(5)(keras.layers.Flatten()(x)))
    wrong.save(folder / "cifar.keras")
    return {"v1": folder / "v1_file.keras", "wrong": folder / "cifar.keras"}


@pytest.mark.slow
def test_train_a_model_file_and_say_where_mnist_is(mnist_path: Path, model_files,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "file"
    result = run_cli("train", str(model_files["v1"]), "--data", str(mnist_path), "--epochs",
                     "1", "--subset", "128", "--test-subset", "64", "--no-peak", "--out",
                     str(out))
    assert result.exit_code == 0, result.output
    assert f"MNIST: {mnist_path} (from --data)" in result.stderr.splitlines()
    (row,) = json.loads((out / "summary.json").read_text())["summary"]
    assert (row["model"], row["params"], row["macs"]) == ("v1_file.keras", 48_330, 3_109_760)
    # the per-layer training FLOPs (tests/analysis/test_training.py) and the old 3 x forward
    assert row["training_flops"] == 18_862_928
    assert row["train_flops_per_epoch"] == 128 * 18_862_928
    assert row["train_flops_per_epoch_3x"] == 128 * 3 * row["forward_flops"]


def test_a_model_file_of_the_wrong_shape_is_refused(mnist_path: Path, model_files,
                                                    tmp_path: Path) -> None:
    result = run_cli("train", "v1", str(model_files["wrong"]), "--data", str(mnist_path),
                     "--out", str(tmp_path / "wrong"))
    assert_one_line_error(result, 1, r"must take one 28x28x1 input and give 10 classes. "
                                     r"Received: 'cifar.keras' with inputs \(32, 32, 3\) and "
                                     r"outputs \(5\)", **AFTER_PROGRESS)
    assert not (tmp_path / "wrong").exists()


def test_bench_a_model_file(model_files) -> None:
    result = run_cli("bench", str(model_files["v1"]), "--batch-size", "2", "--repeats", "2",
                     "--warmup", "1", "--peak-size", "64", "--peak-repeats", "2", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["models"]
    assert (row["model"], row["macs"]) == ("v1_file.keras", 3_109_760)


def test_missing_model_file(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("train", str(tmp_path / "none.keras")), 1,
                          r"Model file not found. Received: '.*none.keras'")


@pytest.mark.slow
def test_distribute_mirrored_in_process_on_one_device(mnist_path: Path, tmp_path: Path) -> None:
    """The same run in this process, where TensorFlow started long ago: MirroredStrategy over
    the one CPU device, so the ring moves nothing (2(n-1)/n = 0) and predicts no all-reduce.
    The two-replica run needs a fresh process: the slow test below."""
    out = tmp_path / "mirrored"
    run_ok("train", "v1", "--data", str(mnist_path), "--distribute", "mirrored", "--epochs",
           "1", "--subset", "256", "--test-subset", "64", "--batch-size", "64", "--out", str(out))
    payload = json.loads((out / "summary.json").read_text())
    (d,) = payload["distribution"]
    assert (d["replicas"], d["cross_device_ops"], d["implementation"]) == (
        1, "CollectiveAllReduce", "RING")
    assert d["allreduce_bytes"] == 47_818 * 4 and d["tensors"] == 22
    assert d["ring_bytes_per_device"] == 0 and d["predicted_allreduce_s"] == 0
    assert d["measured_allreduce_s"] >= 0 and d["predicted_compute_s"] > 0
    assert d["predicted_step_s"] == pytest.approx(d["predicted_compute_s"])
    assert d["measured_step_s"] == pytest.approx(payload["summary"][0]["steady_epoch_s"] / 4)
    assert payload["config"]["distribute"] == "mirrored"
    assert "Data-parallel: v1 under MirroredStrategy over 1 devices" in (
        out / "summary.md").read_text()


@pytest.mark.slow
def test_distribute_mirrored_on_two_logical_cpus(mnist_path: Path, tmp_path: Path) -> None:
    """A fresh process (logical devices must be set before TensorFlow starts): v1, 256 images,
    one epoch, global batch 64 over two replicas. Slow (a second TensorFlow start); the
    in-process test above runs the same path on one device."""
    import os
    import subprocess
    import sys

    out = tmp_path / "mirrored"
    done = subprocess.run(
        [sys.executable, "-m", "convcost", "train", "v1", "--data", str(mnist_path),
         "--distribute", "mirrored", "--cpu-devices", "2", "--epochs", "1", "--subset", "256",
         "--test-subset", "64", "--batch-size", "64", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    payload = json.loads((out / "summary.json").read_text())
    (d,) = payload["distribution"]
    assert (d["replicas"], d["cross_device_ops"], d["implementation"]) == (
        2, "CollectiveAllReduce", "RING")
    assert d["allreduce_bytes"] == 47_818 * 4 and d["tensors"] == 22
    assert d["ring_bytes_per_device"] == 47_818 * 4  # 2(n-1)/n = 1 for two replicas
    assert d["measured_allreduce_s"] > 0 and d["predicted_allreduce_s"] > 0
    assert d["predicted_step_s"] == pytest.approx(d["predicted_compute_s"]
                                                  + d["predicted_allreduce_s"])
    assert d["measured_step_s"] == pytest.approx(payload["summary"][0]["steady_epoch_s"] / 4)
    assert payload["config"]["distribute"] == "mirrored"
    assert "Data-parallel: v1 under MirroredStrategy over 2 devices" in (
        out / "summary.md").read_text()


def test_cpu_devices_after_tensorflow_started() -> None:
    import tensorflow as tf

    from convcost.errors import ConvcostError
    from convcost.measure.distribute import split_cpu

    tf.constant(1.0) + 1.0  # the runtime is up
    with pytest.raises(ConvcostError, match=r"--cpu-devices must be set before TensorFlow "
                                            r"starts.*Received: --cpu-devices 2"):
        split_cpu(2)
