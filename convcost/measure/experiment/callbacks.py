"""Keras callbacks that time training: each epoch, the evaluation apart, and fit's tail."""

from __future__ import annotations

import math
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import keras

from convcost.measure.data import Prepared
from convcost.measure.experiment.records import EpochRow, FitTiming

EVAL_BATCH = 1024  # test-set batch; inference results do not depend on it
STALL_AFTER_S = 0.5  # a longer stretch after on_train_end gets its main-thread stack sampled



class StallWatch:
    """Samples the main thread's stack while ``fit`` has not returned after ``on_train_end``.

    ``fit`` was seen to return 12-15 s after its last step with the process idle. Started
    at ``on_train_end``, this thread sleeps :data:`STALL_AFTER_S`, then records the innermost
    frames of the main thread every 50 ms until :meth:`stop`; :meth:`stop` returns the most
    frequent stack ("" when fit returned in time). It costs nothing when there is no stall.
    """

    def __init__(self) -> None:
        self._main = threading.get_ident()
        self._done = threading.Event()
        self._stacks: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="stall-watch")
        self._thread.start()

    def _watch(self) -> None:
        if self._done.wait(STALL_AFTER_S):
            return
        while not self._done.wait(0.05):
            frame = sys._current_frames().get(self._main)
            if frame is not None:
                inner = traceback.extract_stack(frame)[-4:]
                self._stacks[" <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})"
                                         for f in reversed(inner))] += 1

    def stop(self) -> str:
        self._done.set()
        self._thread.join()
        if not self._stacks:
            return ""
        stack, count = self._stacks.most_common(1)[0]
        return f"{stack} [{count} of {sum(self._stacks.values())} samples]"


class EpochTimer(keras.callbacks.Callback):
    """Times each epoch (begin -> end), then evaluates on the test set, timed apart."""

    def __init__(self, name: str, data: Prepared, batch_size: int,
                 on_row: Callable[[EpochRow], None]) -> None:
        super().__init__()
        self.name = name
        self.data = data
        self.batch_size = batch_size
        self.on_row = on_row
        self.stamps: dict[str, float] = {}
        self.rows: list[EpochRow] = []
        self._epoch_start = 0.0
        self._watch: StallWatch | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stamps["train_begin"] = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train_s = time.perf_counter() - self._epoch_start
        start = time.perf_counter()
        test = self.model.evaluate(self.data.x_test, self.data.y_test, batch_size=EVAL_BATCH,
                                   verbose=0, return_dict=True)
        eval_s = time.perf_counter() - start
        logs = logs or {}
        row = EpochRow(self.name, epoch + 1, epoch == 0, self.data.train_samples,
                       math.ceil(self.data.train_samples / self.batch_size), self.batch_size,
                       train_s, eval_s, float(logs["loss"]), float(logs["accuracy"]),
                       float(test["loss"]), float(test["accuracy"]))
        self.rows.append(row)
        self.on_row(row)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.stamps["train_end"] = time.perf_counter()
        self.stamps["train_end_cpu"] = time.process_time()
        self._watch = StallWatch()

    def timing(self, fit_start: float, fit_end: float, fit_end_cpu: float) -> FitTiming:
        """Split the wall time around fit (see the module docstring); call right after fit.

        ``fit_end_cpu`` is a ``time.process_time()`` stamp.
        """
        stack = self._watch.stop() if self._watch is not None else ""
        epochs_s = sum(row.train_s for row in self.rows)
        eval_s = sum(row.eval_s for row in self.rows)
        begin = self.stamps.get("train_begin", fit_start)
        end = self.stamps.get("train_end", fit_end)
        return FitTiming(fit_end - fit_start, begin - fit_start, epochs_s, eval_s,
                         end - begin - epochs_s - eval_s, fit_end - end,
                         fit_end_cpu - self.stamps.get("train_end_cpu", fit_end_cpu), stack)
