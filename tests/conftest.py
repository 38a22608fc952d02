"""Shared fixtures and helpers: quiet TensorFlow, the real MNIST file, models built once per
session, one headless Chromium per session (``browser``), and the CLI helpers every command's
tests use (``run_cli``, ``cli_ok``, ``run_ok``, ``cli_json``, ``assert_one_line_error``;
import them from ``tests.conftest``)."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from convcost.count.report import LayerCost, Piece, Report

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"
CLI_ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection imported (TensorFlow, Keras: millions of objects) out of the
    garbage collector's sight: each full collection while the tests build models then walks
    only what the tests made (a third of the suite's time went to collections without it), and
    less often. Start saving the other process's model files now, on the other core, if a test
    needs them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)  # fewer, larger collections: ~3 % faster, +20 MB
    if any("saved_elsewhere" in getattr(item, "fixturenames", ()) for item in session.items):
        _start_saving()


@pytest.fixture(scope="module", autouse=True)
def _fresh_keras_state_per_module():
    """Drop Keras' global state (layer-name counters, the graph) after each test module:
    without it the default run peaks at 2.3 GiB and builds slow down as the state grows; with
    it, 1.7 GiB and about 10 % faster. Models a session fixture keeps stay usable."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _SAVING:
        _SAVING["process"].kill()
        shutil.rmtree(_SAVING["root"], ignore_errors=True)


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Real MNIST: $CONVCOST_MNIST, else ../shared/data/mnist.npz beside the checkout."""
    path = Path(os.environ.get("CONVCOST_MNIST", SHARED_MNIST))
    if not path.exists():
        pytest.skip(f"real MNIST not found at {path}; set CONVCOST_MNIST")
    return path


@pytest.fixture(scope="session")
def zoo_model():
    """Build zoo models once per test session: zoo_model('v1')."""
    from convcost.models import zoo

    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = zoo.build(name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def resnet50_report():
    """keras.applications.ResNet50 analysed once, built without allocating its weights."""
    import keras

    import convcost
    from convcost.models import zoo

    with keras.StatelessScope(initialize_variables=False):
        return convcost.analyze(zoo.build("resnet50"))


# --- one small training run per session ------------------------------------------------------


@pytest.fixture(scope="session")
def small_run(mnist_path: Path, tmp_path_factory):
    """``train``'s loop for naive, v1 and v2: 2 epochs on 512 training / 256 test images,
    batch 64, summary written at a 100 GFLOP/s peak. Attributes: ``folder``, ``runs``,
    ``written``, ``prepared`` (the trained models are in ``folder.path / "models"``)."""
    from types import SimpleNamespace

    from convcost.cli.train import write_summary
    from convcost.measure import data, experiment
    from convcost.render.experiment import ExperimentSummary

    prepared = data.prepare(data.load_mnist(mnist_path), subset=512, test_subset=256)
    config = experiment.make_config(epochs=2, batch_size=64)
    machine = dict(cpu="X", usable_cpus=2, cpu_count=2, gpus=[], tensorflow="t", keras="k",
                   backend="tensorflow", python="3", inter_op_threads=0, intra_op_threads=0)
    folder = experiment.ResultsFolder(tmp_path_factory.mktemp("run"),
                                      experiment.run_meta(config, prepared, machine))
    runs = experiment.run_experiment(["naive", "v1", "v2"], prepared, config, folder)
    summary = ExperimentSummary(experiment.summarize(folder.runs), folder.runs, folder.meta,
                                peak_gflops=100.0)
    written = write_summary(folder, summary)
    return SimpleNamespace(folder=folder, runs=runs, written=written, prepared=prepared)


# --- model files saved by another process (custom classes this process never sees) -----------

# tests/cli/test_user_code.py: a custom layer class with its cost rule (registered under a
# package name of its own, so nothing leaks into the other tests' Keras registry), a model
# using it, and a conv model with a Lambda layer.
USER_LAYER_CODE = textwrap.dedent('''
    import keras
    import convcost
    from convcost import Piece

    @keras.saving.register_keras_serializable(package="user_code_test")
    class Triple(keras.layers.Layer):
        """y = 3 * x * w, one weight per channel."""
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), initializer="ones")
        def call(self, x):
            return 3.0 * x * self.w

    @convcost.register_rule(Triple)
    def _triple(layer, call):
        elements = 1
        for size in call.output:
            elements *= size
        return (Piece("other", params=call.input[-1], other_flops=2 * elements),)
''')

USER_SAVE = textwrap.dedent('''
    import sys, keras
    sys.path.insert(0, sys.argv[1])
    import triple_layer
    inp = keras.Input((6,), name="x")
    out = keras.layers.Dense(4, name="fc")(triple_layer.Triple(name="triple")(inp))
    keras.Model(inp, out).save(sys.argv[2])
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="c1")(inp)
    x = keras.layers.Conv2D(4, 3, name="c2")(x)
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    keras.Model(inp, keras.layers.GlobalAveragePooling2D(name="gap")(x)).save(sys.argv[3])
''')

# Runs (code, argv) jobs one after the other in a fresh interpreter: one TensorFlow start.
_RUN_JOBS = """
import json, sys
for code, argv in json.loads(sys.argv[1]):
    sys.argv = ["-c", *argv]
    exec(compile(code, "<saved_elsewhere>", "exec"), {"__name__": "__main__"})
"""


_SAVING: dict[str, Any] = {}  # the saving process, started once (see _start_saving)


def _start_saving() -> None:
    """Start ONE fresh process that saves the model files of :func:`saved_elsewhere`, in the
    background: it runs on the second core while this process runs the first tests."""
    import subprocess
    import sys
    import tempfile

    from tests.cli import hostile

    root = Path(tempfile.mkdtemp(prefix="convcost-saved-"))
    folder, user = root / "hostile", root / "user_code"
    folder.mkdir()
    user.mkdir()
    hostile.write_code(folder)
    (user / "triple_layer.py").write_text(USER_LAYER_CODE)
    files = {"code": user / "triple_layer.py", "custom": user / "custom.keras",
             "lambda": user / "lambda.keras"}
    jobs = [(hostile.SAVE, [str(folder), str(folder / "small.keras"),
                            str(folder / "custom.keras")]),
            (USER_SAVE, [str(user), str(files["custom"]), str(files["lambda"])])]
    process = subprocess.Popen([sys.executable, "-c", _RUN_JOBS, json.dumps(jobs)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _SAVING.update(process=process, root=root, hostile=folder, user_code=files)


@pytest.fixture(scope="session")
def saved_elsewhere() -> dict[str, Any]:
    """Model files whose custom classes this process must never have seen, saved by ONE fresh
    process for the session: ``["hostile"]``, the folder of tests/cli/hostile.py's
    ``small.keras`` and ``custom.keras`` (for ``make_files(folder, saved=True)``), and
    ``["user_code"]``, ``{"code", "custom", "lambda"}`` for tests/cli/test_user_code.py."""
    if not _SAVING:
        _start_saving()
    _, stderr = _SAVING["process"].communicate(timeout=300)
    if _SAVING["process"].returncode:
        pytest.fail(f"saving the model files failed: {stderr.decode()[-2000:]}")
    return {"hostile": _SAVING["hostile"], "user_code": _SAVING["user_code"]}


# --- tools from the system: a browser, graphviz -----------------------------------------------


def require_tool(what: str, found: bool, variable: str, install: str) -> None:
    """Skip when a system tool is missing, unless ``$variable`` is 1 (CI): then fail."""
    if found:
        return
    message = f"{what} not found ({install})"
    if os.environ.get(variable) == "1":
        pytest.fail(f"{message}; {variable}=1 requires it")
    pytest.skip(message)


CHROMIUM = (os.environ.get("CONVCOST_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))
# Playwright adds --headless and a fresh --user-data-dir; these keep Chromium off the network.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the system's, driven by Playwright) for the whole session.

    Playwright's sync API allows one ``sync_playwright()`` at a time, hence one fixture here.
    Skipped without Playwright or Chromium, unless CONVCOST_REQUIRE_BROWSER=1 (CI).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require_tool("playwright", sync_playwright is not None, "CONVCOST_REQUIRE_BROWSER",
                 "pip install playwright")
    require_tool("chromium", CHROMIUM is not None, "CONVCOST_REQUIRE_BROWSER",
                 "apt-get install chromium")
    with sync_playwright() as playwright:  # type: ignore[misc]
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def graphviz() -> str:
    """The path of graphviz's dot; skipped without it unless CONVCOST_REQUIRE_GRAPHVIZ=1."""
    dot = shutil.which("dot")
    require_tool("graphviz's dot", dot is not None, "CONVCOST_REQUIRE_GRAPHVIZ",
                 "apt-get install graphviz")
    return str(dot)


# --- the CLI, in process ------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """``convcost ARGS`` through typer's CliRunner, 120 columns, no color.

    ``env`` overrides variables; ``None`` unsets one (``{"COLUMNS": None}``: a pipe).
    """
    from typer.testing import CliRunner

    from convcost.cli import app

    return CliRunner().invoke(app, list(args), env={**CLI_ENV, **(env or {})})


def run_ok(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """The result of a command that must succeed (exit 0)."""
    result = run_cli(*args, env=env)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def cli_ok(*args: str) -> str:
    """stdout of a command that must succeed (exit 0)."""
    return run_ok(*args).stdout


def cli_json(*args: str) -> Any:
    """The JSON a command prints with ``--format json``."""
    return json.loads(cli_ok(*args, "--format", "json"))


def assert_one_line_error(result: Any, code: int, pattern: str, *, stdout_empty: bool = True,
                          after_progress: bool = False) -> None:
    """Exit ``code``, exactly one line on stderr matching the regex ``pattern``, no traceback.

    Args:
        stdout_empty: also require that nothing went to stdout.
        after_progress: a progress display may stand above the error (train); the error is
            still one ``error:`` line, and the last one.
    """
    assert result.exit_code == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    if after_progress:
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
        lines = errors
    if stdout_empty:
        assert result.stdout == "", result.stdout
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.stdout + result.stderr


# --- small transformers built from plain Keras layers (tests of the whole-model formulas) -------


def tiny_decoder(d: int = 32, heads: int = 4, d_ff: int = 128, blocks: int = 2,
                 vocab: int = 100) -> Any:
    """A GPT-style decoder backbone: token embedding, then ``blocks`` pre-norm blocks of causal
    multi-head self-attention (key_dim d/heads) and an MLP d -> d_ff -> d, then a layer norm.
    One int input of shape (L,), L free."""
    import keras
    from keras import layers

    tokens = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab, d, name="embed")(tokens)
    for i in range(blocks):
        y = layers.LayerNormalization(name=f"ln1_{i}")(x)
        y = layers.MultiHeadAttention(heads, d // heads, name=f"attn_{i}")(
            y, y, use_causal_mask=True)
        x = layers.Add(name=f"add1_{i}")([x, y])
        y = layers.LayerNormalization(name=f"ln2_{i}")(x)
        y = layers.Dense(d_ff, activation="gelu", name=f"ff1_{i}")(y)
        y = layers.Dense(d, name=f"ff2_{i}")(y)
        x = layers.Add(name=f"add2_{i}")([x, y])
    return keras.Model(tokens, layers.LayerNormalization(name="ln_f")(x), name="tiny_decoder")


def tiny_encoder() -> Any:
    """A classifier over a sequence of 16-dim vectors (L, 16): Dense 16 -> 32, one block of
    grouped-query attention (4 query heads, 2 key/value heads, head_dim 8) and an MLP
    32 -> 64 -> 32, average over positions, Dense 32 -> 10."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, 16), name="vectors")
    x = layers.Dense(32, name="embed")(inputs)
    y = layers.LayerNormalization(name="ln")(x)
    y = layers.GroupQueryAttention(8, 4, 2, name="gqa")(y, y)
    x = layers.Add(name="add1")([x, y])
    y = layers.Dense(64, activation="relu", name="ff1")(x)
    x = layers.Add(name="add2")([x, layers.Dense(32, name="ff2")(y)])
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(10, name="head")(x), name="tiny_encoder")


# --- reports written by hand (no Keras): the formula engine's toy nets, a hostile page -------


def ceil_div(n: int, d: int) -> int:
    """The size 'same' padding gives: ceil(n / d)."""
    return -(-n // d)


def hand_row(path: str, kind: str, shape: tuple[int, ...], params: int = 0, macs: int = 0,
             flops: int = 0, layer_type: str = "Conv2D") -> LayerCost:
    """One layer of one piece, for the synthetic nets below."""
    return LayerCost(path=path, name=path, type=layer_type, input_shapes=((1,),),
                     output_shape=shape, pieces=(Piece(kind, params, macs, flops),),
                     keras_params=params, trainable_params=params, non_trainable_params=0)


def tiny_cnn(sizes: Mapping[str, int]) -> Report:
    """conv 3x3 3->8 stride 2 'same'; depthwise 3x3 stride 2 'same'; 1x1 8->16; GAP; dense 16->10.

    On H, W multiples of 4: conv MACs 27*8*(H/2)(W/2) = 54*H*W; depthwise 9*8*(H/4)(W/4)
    = 9/2*H*W; pointwise 8*16*(H/4)(W/4) = 8*H*W; dense 160. Total 133/2*H*W + 160.
    Params: 27*8 + 9*8 + 8*16 + 16*10 = 216 + 72 + 128 + 160 = 576.
    """
    h, w = sizes["H"], sizes["W"]
    h2, w2 = ceil_div(h, 2), ceil_div(w, 2)
    h4, w4 = ceil_div(h2, 2), ceil_div(w2, 2)
    layers = (hand_row("conv", "standard", (h2, w2, 8), 216, 216 * h2 * w2),
              hand_row("dw", "depthwise", (h4, w4, 8), 72, 72 * h4 * w4,
                       layer_type="DepthwiseConv2D"),
              hand_row("pw", "pointwise", (h4, w4, 16), 128, 128 * h4 * w4),
              hand_row("gap", "other", (16,), 0, 0, 16 * h4 * w4, "GlobalAveragePooling2D"),
              hand_row("fc", "fully_connected", (10,), 160, 160, layer_type="Dense"))
    return Report("tiny", (h, w, 3), layers, 576)


def tokens(sizes: Mapping[str, int], d: int = 4) -> Report:
    """A one-block attention toy: projections 4*d*d*L, scores and context 2*d*L^2."""
    n = sizes["L"]
    layers = (hand_row("proj", "fully_connected", (n, d), 4 * d * d, 4 * d * d * n,
                       layer_type="Dense"),
              hand_row("attn", "other", (n, d), 0, 2 * d * n * n, 3 * n * n, "Attention"))
    return Report("toy", (n,), layers, 4 * d * d)


BIG = 2**54 + 1  # float64 rounds 2**54 + 1 and 2**54 + 2 to the same number


def hand_layer(path: str, macs: int, params: int = 0, *, kind: str = "standard",
               type_: str = "Conv2D", call: int = 0) -> LayerCost:
    """One 4x4x8 layer of one piece, for the hostile page below."""
    return LayerCost(path=path, name=path.rsplit("/", 1)[-1], type=type_,
                     input_shapes=((4, 4, 8),), output_shape=(4, 4, 8),
                     pieces=(Piece(kind, params, macs, 0),), keras_params=params,
                     trainable_params=params, non_trainable_params=0, call_index=call)


def nasty_report(repeats: int = 0) -> Report:
    """Names that are markup, a block called twice, two MAC counts above 2**53 one apart, and
    ``repeats`` more plain rows (to go past one page of the table)."""
    markup, called_twice = 'blk<i>/"&\'', "blk<i>/dw <b>bold<b>"
    rows = [hand_layer("<script>alert(1)</script>", 100, 10),
            hand_layer(markup, 200, 20),
            hand_layer(called_twice, 300, 30, kind="depthwise", type_="</table><img>"),
            hand_layer(markup, 200, call=1),
            hand_layer(called_twice, 300, call=1, kind="depthwise", type_="</table><img>"),
            hand_layer("huge_a", BIG, kind="fully_connected", type_="Dense"),
            hand_layer("huge_b", BIG + 1, kind="fully_connected", type_="Dense"),
            *[hand_layer(f"stack/block_{i}/conv", 1000 + i, 1, type_="Conv2D")
              for i in range(repeats)]]
    return Report("</script><script>alert('model')</script>", (4, 4, 3), tuple(rows),
                  sum(r.params for r in rows), backend="tensorflow")


# --- .tflite files, converted once per session ----------------------------------------------------


def randomize_weights(model: Any, seed: int = 0) -> Any:
    """Give every weight a random non-zero value, as training would (batch-norm variances
    positive), so that the converter has no zero bias to drop and no two equal ones to share."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = [rng.normal(0.0, 0.1, w.shape).astype(w.dtype) for w in layer.get_weights()]
        if type(layer).__name__ == "BatchNormalization":  # gamma, beta, mean, variance
            values[-1] = rng.uniform(0.5, 1.5, values[-1].shape).astype(values[-1].dtype)
        layer.set_weights(values)
    return model


@pytest.fixture(scope="session")
def tflite_model(tmp_path_factory):
    """A zoo net and its converted .tflite file, once per session:
    ``model, path = tflite_model('v1', trained_like=True, precision='fp32')``.

    ``trained_like`` randomizes every weight (:func:`randomize_weights`); then each shortcut
    conv of v2 gets the bias of its block's projection, as training gives it (both get the same
    gradient from the same zero start).
    """
    from convcost.measure.convert import to_tflite
    from convcost.models import zoo

    cache: dict[tuple, tuple[Any, Path]] = {}
    folder = tmp_path_factory.mktemp("tflite")

    def get(name: str, *, trained_like: bool = True, precision: str = "fp32"
            ) -> tuple[Any, Path]:
        key = (name, trained_like, precision)
        if key not in cache:
            model = zoo.build(name)
            if trained_like:
                _tie_shortcut_biases(randomize_weights(model))
            representative = None
            if precision == "int8":
                import numpy as np

                representative = np.random.default_rng(1).random((8, *model.inputs[0].shape[1:]),
                                                                 dtype=np.float32)
            path = folder / f"{name}-{int(trained_like)}-{precision}.tflite"
            path.write_bytes(to_tflite(model, precision, representative))
            cache[key] = (model, path)
        return cache[key]

    return get


def _tie_shortcut_biases(model: Any) -> None:
    for layer in model.layers:
        if layer.name.endswith("_shortcut"):
            project = model.get_layer(layer.name.replace("_shortcut", "_project"))
            kernel, _ = layer.get_weights()
            layer.set_weights([kernel, project.get_weights()[1]])


# --- a latency profile fitted on a known formula (tests of predict without measuring) ----------

SYNTHETIC_FIXED_S = 5e-6


def synthetic_seconds(shape: Any) -> float:
    """The 'measured' time of a kernel in the synthetic profile: 2 us + FLOPs at 20 GFLOP/s +
    bytes at 10 GB/s (batch 1, float32)."""
    return 2e-6 + shape.flops / 2e10 + shape.bytes_moved(1) / 1e10


@pytest.fixture(scope="session")
def synthetic_profile(tmp_path_factory: Any) -> Any:
    """A litert profile (1 thread, batch 1) saved to a temporary file, fitted on kernels drawn
    by the calibration sampler and timed by :func:`synthetic_seconds` instead of a clock."""
    import random

    import convcost
    from convcost.analysis import latency
    from convcost.analysis.kernels import kernels_of
    from convcost.analysis.roofline import DeviceProfile
    from convcost.count.walker import analyze
    from convcost.measure.calibrate import draw, kernel_model

    device = DeviceProfile(50e9, 20e9, name="test")
    rng = random.Random(0)
    shapes: dict[str, list[Any]] = {}
    with convcost.shape_only():  # shapes are all it needs (weights would take ~340 MB)
        for kind in ("conv", "pointwise", "depthwise", "dense", "add", "pool", "global_pool",
                     "batchnorm", "activation", "softmax", "reshape"):
            for _ in range(16):
                (kernel,) = [k for k in kernels_of(analyze(kernel_model(draw(kind, rng))))
                             if k.kind != "none"]
                shapes.setdefault(kernel.kind, []).append(kernel.shape)
    kinds = {kind: latency.fit_kind(found, [synthetic_seconds(s) for s in found], batch=1,
                                    threads=1, device=device, folds=2)
             for kind, found in shapes.items()}
    profile = latency.LatencyProfile("litert", 1, 1, device, SYNTHETIC_FIXED_S, kinds)
    return latency.save(profile, tmp_path_factory.mktemp("latency") / "profile.json")
