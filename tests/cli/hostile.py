"""The hostile inputs convcost is tested against, one per line, and what each must get.

Shared by ``tests/cli/test_hostile.py`` (every case is run and checked) and
``scripts/hostile_table.py`` (every case is run again and the outcome written as the table of
docs/reference/errors.md), so the docs list exactly what the tests hold.

``{name}`` in a command stands for a file that :func:`make_files` writes first.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """A command line, the exit code it must end with, and a regex its one line must match
    (stdout for exit 0, the error line otherwise)."""

    what: str
    args: tuple[str, ...]
    exit_code: int
    pattern: str


CASES: tuple[Case, ...] = (
    # names, files
    Case("unknown zoo name", ("analyze", "mobilenet_v9"), 1,
         r"Unknown model name. Received: 'mobilenet_v9'. Did you mean"),
    Case("missing model file", ("analyze", "{folder}/missing.keras"), 1,
         r"Model file not found. Received: '.*missing.keras'"),
    Case("random bytes as .keras", ("analyze", "{noise}"), 1, r"Not a .keras archive"),
    Case("truncated .keras archive", ("analyze", "{truncated}"), 1, r"Not a .keras archive"),
    Case(".keras with wrong JSON config", ("analyze", "{wrong_json}"), 1,
         r"Could not load the model file"),
    Case("empty .h5 file", ("analyze", "{empty_h5}"), 1, r"Could not load the model file"),
    Case("random bytes as .tflite", ("analyze", "{noise_tflite}"), 1, r"\.tflite"),
    Case("custom layer class without --import", ("analyze", "{custom}"), 1,
         r"cannot find: 'Scale'.*pass --import"),
    Case("--import of a file that does not exist", ("analyze", "{custom}", "--import",
                                                     "{folder}/nope.py"), 1,
         r"The file to import does not exist"),
    Case("--import of code that raises", ("analyze", "{custom}", "--import", "{broken_code}"), 1,
         r"Could not import the user code: ZeroDivisionError"),
    # numbers
    Case("--alpha nan", ("analyze", "naive", "--alpha", "nan"), 1,
         r"alpha must be a positive number. Received: alpha=nan"),
    Case("--alpha inf", ("analyze", "naive", "--alpha", "inf"), 1,
         r"alpha must be a positive number. Received: alpha=inf"),
    Case("--alpha -1", ("analyze", "naive", "--alpha", "-1"), 1,
         r"alpha must be a positive number"),
    Case("--alpha 1e6: counted, nothing allocated", ("analyze", "naive", "--alpha", "1e6"), 0,
         r"params match model.summary\(\): 256,000,003,072,000,010 ✓"),
    Case("--classes 0", ("analyze", "v1", "--classes", "0"), 1, r"classes"),
    Case("--classes beyond int32", ("analyze", "naive", "--classes", "99999999999999999999"), 1,
         r"classes must be at most 2,147,483,647"),
    Case("--batch-size 0", ("analyze", "v1", "--batch-size", "0"), 1, r"--batch-size"),
    # shapes
    Case("--input-shape with a zero", ("analyze", "naive", "--input-shape", "0,28,1"), 1,
         r"input"),
    Case("--input-shape not numbers", ("analyze", "naive", "--input-shape", "a,b,c"), 1,
         r"input-shape"),
    Case("--input-shape beyond int32", ("analyze", "naive", "--input-shape", "3000000000,28,1"),
         1, r"--input-shape sizes must be at most"),
    Case("--input-shape too small for the net's pooling (found by the fuzz test)",
         ("analyze", "v2", "--input-shape", "1,1,1"), 1,
         r"Model 'v2' cannot be built at this input shape: .*MaxPooling2D.*Received: "
         r"input_shape=\(1, 1, 1\)\.$"),
    Case("--input-shape that changes a saved model's channels",
         ("analyze", "{small}", "--input-shape", "28,28,3"), 1,
         r"does not fit the model's weights"),
    Case("--input-shape NAME=SHAPE with an unknown name",
         ("analyze", "gpt2", "--input-shape", "tokens=16"), 1, r"Unknown input name 'tokens'"),
    Case("--seq-len on an image model", ("analyze", "v1", "--seq-len", "16"), 1,
         r"--seq-len applies to text models"),
    # memory
    Case("verify at 100000x100000x3 (terabytes)",
         ("verify", "v1", "--input-shape", "100000,100000,3"), 1,
         r"verify would need at least [\d.,]+ TB of memory .* available"),
    Case("profile at 100000x100000x3", ("profile", "v1", "--input-shape", "100000,100000,3"), 1,
         r"profile would need at least [\d.,]+ TB of memory"),
    Case("bench --alpha 1e6", ("bench", "naive", "--alpha", "1e6"), 1,
         r"bench would need at least [\d.,]+ TB of memory"),
    Case("train --alpha 1e6", ("train", "naive", "--alpha", "1e6"), 1,
         r"train would need at least [\d.,]+ TB of memory"),
    Case("verify a 70B LLM", ("verify", "llama2_70b"), 1, r"llama2_70b' is a text model"),
    # special files: refused before they are opened or read whole (issue 23)
    Case("model file that is a named pipe (FIFO)", ("analyze", "{fifo_keras}"), 1,
         r"The model file must be a regular file, not a named pipe \(FIFO\)"),
    Case(".h5 that is a symlink to /dev/zero", ("analyze", "{zero_h5}"), 1,
         r"The model file must be a regular file, not a character device"),
    Case("a directory named like a model", ("analyze", "{dir_keras}"), 1,
         r"got a directory"),
    Case(".tflite that is a named pipe", ("analyze", "{fifo_tflite}"), 1,
         r"The TFLite file must be a regular file, not a named pipe"),
    Case("sparse 3 GiB .tflite with a valid header", ("analyze", "{huge_tflite}"), 1,
         r"A TFLite flatbuffer is at most 2 GiB .* 3,221,225,472 bytes"),
    Case("sparse 3 GiB .tflite of zeros", ("analyze", "{huge_zero_tflite}"), 1,
         r"Not a TFLite flatbuffer .* 3,221,225,472 bytes"),
    Case("missing .tflite", ("analyze", "{folder}/missing.tflite"), 1,
         r"TFLite file not found"),
    Case("--device-profile that is a named pipe",
         ("analyze", "naive", "--device-profile", "{fifo_profile}"), 1,
         r"The device profile must be a regular file, not a named pipe"),
    Case("train --data that is a named pipe",
         ("train", "naive", "--data", "{fifo_npz}", "--epochs", "1"), 1,
         r"The MNIST file must be a regular file, not a named pipe"),
    Case("--import of a named pipe", ("analyze", "naive", "--import", "{fifo_py}"), 1,
         r"The file to import must be a regular file, not a named pipe"),
    Case("Ctrl-C during --import", ("analyze", "naive", "--import", "{interrupt_code}"), 130,
         r"Interrupted. Received: Ctrl-C"),
    # memory before every allocation, threads and devices within the machine (issue 23)
    Case("separate of a model with 4.3 trillion weights",
         ("separate", "v1", "--alpha", "1e4", "-o", "{folder}/out.keras"), 1,
         r"separate would need at least [\d.,]+ TB of memory .*4,300,853,120,010 params"),
    Case("merge of Llama-2-70B (69 billion weights)",
         ("merge", "llama2_70b", "-o", "{folder}/out.keras"), 1,
         r"merge would need at least [\d.,]+ GB of memory .*68,976,648,192 params"),
    Case("probe with a 10,000,000² matmul", ("probe", "--matmul-size", "10000000",
                                             "--method", "numpy", "-o", "{folder}/p.json"), 1,
         r"probe would need at least 1,200.0 TB of memory"),
    Case("probe copying 100 TiB", ("probe", "--copy-mb", "100000000", "--method", "numpy",
                                   "-o", "{folder}/p.json"), 1,
         r"probe would need at least [\d.,]+ TB of memory"),
    Case("--measure-memory at batch 100,000,000",
         ("analyze", "v1", "--measure-memory", "--batch-size", "100000000"), 1,
         r"--measure-memory would need at least [\d.,]+ TB of memory"),
    Case("--training of a 43-quadrillion-weight v1 (found by the fuzz test): counted, the "
         "optimizer's slots read without allocating", ("analyze", "v1", "--alpha", "1e6",
                                                        "--training"), 0,
         r"params match model.summary\(\): 43,008,005,312,000,010 ✓"),
    Case("bench --threads 100000", ("bench", "naive", "--threads", "100000"), 1,
         r"--threads must be at most [\d,]+ \(4 per CPU; this machine has \d+\)"),
    Case("train --cpu-devices 100000", ("train", "naive", "--cpu-devices", "100000"), 1,
         r"cpu_devices must be at most [\d,]+ \(4 per CPU"),
    # Unicode digits: '²'.isdigit() is True, int('²') fails (issue 23)
    Case("--threads ²", ("bench", "naive", "--threads", "²"), 1,
         r"--threads must be positive integers"),
    Case("--input-shape ²,28,1", ("analyze", "naive", "--input-shape", "²,28,1"), 1,
         r"--input-shape must be whole numbers"),
    Case("--subs N=²", ("formulas", "ratio", "--subs", "N=²"), 1,
         r"substitution value must be a finite number"),
    Case("--sweep size=²", ("analyze", "naive", "--sweep", "size=²"), 1,
         r"--sweep sizes must be positive whole numbers"),
    Case("--seq-len ³", ("analyze", "gpt2", "--seq-len", "³"), 1, r"--seq-len"),
    # options, output
    Case("unknown --format", ("analyze", "v1", "--format", "xml"), 1, r"--format"),
    Case("output into a missing folder",
         ("analyze", "v1", "--output", "{folder}/no/such/dir/v1.json"), 1,
         r"directory does not exist"),
    Case("unknown formula", ("formulas", "nope"), 1, r"nope"),
)


def make_files(folder: Path, *, saved: bool = False) -> dict[str, str]:
    """Write the files the cases name; return ``{name: path}`` (``folder`` too).

    ``saved``: ``small.keras`` and ``custom.keras`` are in ``folder`` already, written by
    :data:`SAVE` in a fresh process of the caller's (tests/conftest.py's ``saved_elsewhere``);
    otherwise they are saved here, in a fresh process, so this one never sees the class.
    """
    folder.mkdir(parents=True, exist_ok=True)
    small, custom = folder / "small.keras", folder / "custom.keras"
    if not saved:
        write_code(folder)
        subprocess.run([sys.executable, "-c", SAVE, str(folder), str(small), str(custom)],
                       check=True, capture_output=True, timeout=300)
    archive = small.read_bytes()
    files = {"noise": (folder / "noise.keras", bytes(range(256)) * 8),
             "truncated": (folder / "truncated.keras", archive[: len(archive) // 2]),
             "wrong_json": (folder / "wrong_json.keras", _with_config(archive, b"[1, 2")),
             "empty_h5": (folder / "empty.h5", b""),
             "noise_tflite": (folder / "noise.tflite", bytes(range(255, -1, -1)) * 4),
             "broken_code": (folder / "broken.py", b"1 / 0\n")}
    files["interrupt_code"] = (folder / "interrupt.py", b"raise KeyboardInterrupt\n")
    for path, content in files.values():
        path.write_bytes(content)
    return {"folder": str(folder), "small": str(small), "custom": str(custom),
            **{name: str(path) for name, (path, _) in files.items()},
            **_special_files(folder)}


def _special_files(folder: Path) -> dict[str, str]:
    """Named pipes (never opened by a case that passes), a symlink to /dev/zero, a directory
    named like a model, and sparse 3 GiB .tflite files (no disk used)."""
    special = folder / "special"
    special.mkdir(exist_ok=True)
    made = {}
    for name, file in (("fifo_keras", "pipe.keras"), ("fifo_tflite", "pipe.tflite"),
                       ("fifo_profile", "profile-pipe"), ("fifo_npz", "mnist-pipe.npz"),
                       ("fifo_py", "pipe.py")):
        os.mkfifo(special / file)
        made[name] = str(special / file)
    (special / "zero.h5").symlink_to("/dev/zero")
    (special / "dir.keras").mkdir()
    for name, header in (("huge_tflite", b"\0\0\0\0TFL3"), ("huge_zero_tflite", b"")):
        with open(special / f"{name}.tflite", "wb") as handle:
            handle.write(header)
            handle.truncate(3 * 2**30)
        made[name] = str(special / f"{name}.tflite")
    return {**made, "zero_h5": str(special / "zero.h5"), "dir_keras": str(special / "dir.keras")}


def write_code(folder: Path) -> Path:
    """The module that defines the custom layer class of ``custom.keras``."""
    code = folder / "scale_layer.py"
    code.write_text(SCALE_CODE)
    return code


def command(case: Case, files: dict[str, str]) -> list[str]:
    return [arg.format(**files) for arg in case.args]


def _with_config(archive: bytes, config: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, config if item.filename == "config.json"
                            else source.read(item.filename))
    return out.getvalue()


SCALE_CODE = '''
import keras

@keras.saving.register_keras_serializable(package="hostile_cases")
class Scale(keras.layers.Layer):
    def call(self, x):
        return 2.0 * x
'''

SAVE = '''
import sys, keras
sys.path.insert(0, sys.argv[1])
import scale_layer
inputs = keras.Input((28, 28, 1))
x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)).save(sys.argv[2])
inputs = keras.Input((6,))
keras.Model(inputs, scale_layer.Scale()(inputs)).save(sys.argv[3])
'''
