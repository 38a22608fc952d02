"""The machine record written beside every measurement."""

from __future__ import annotations

import os

from convcost.measure import machine


def test_machine_record() -> None:
    import keras
    import tensorflow as tf

    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    info = machine.machine_info()
    assert info["cpu"] == names[0]
    assert info["cpu_count"] == os.cpu_count()
    assert (info["tensorflow"], info["keras"]) == (tf.__version__, keras.__version__)
    assert len(info["gpus"]) == len(tf.config.list_physical_devices("GPU"))


def test_no_gpu_is_an_empty_list_not_an_error() -> None:
    import tensorflow as tf

    assert len(machine.gpu_names()) == len(tf.config.list_physical_devices("GPU"))
