"""Fuzzing the CLI: hypothesis draws command lines and hostile model files, and every case must
end in valid output (exit 0) or one clean error line (exit 1), never a traceback, never a hang.

The default run draws a few dozen cases (bounded time, CI); ``pytest -m slow`` draws thousands.
Hostile files are made here: random bytes under a model suffix, real ``.keras`` archives cut
at random points or with their ``config.json`` replaced by random JSON, empty files.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

CASE_SECONDS = 60  # a case that takes longer counts as a hang
QUICK = settings(max_examples=12, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
MANY = settings(max_examples=1500, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _libraries_loaded() -> None:
    """Import what the commands import before hypothesis starts drawing: TensorFlow raises the
    recursion limit on import, which hypothesis would take for the test's doing."""
    import keras  # noqa: F401

    import convcost.cli
    import convcost.theory.symbolic  # noqa: F401


def assert_clean(result, elapsed: float, args: list[str]) -> None:
    """Exit 0 with output, or exit 1/2 with exactly one line on stderr; no traceback."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, (args, text[-2000:])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, repr(result.exception))
    assert elapsed < CASE_SECONDS, (args, elapsed)
    if result.exit_code == 0:
        return
    assert result.exit_code in (1, 2), (args, result.exit_code, text[-500:])  # 3: a bug
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), (args, result.stderr)


def run_timed(*args: str):
    start = time.perf_counter()
    result = run_cli(*args)
    assert_clean(result, time.perf_counter() - start, list(args))
    return result


# --- command lines ----------------------------------------------------------------------------

NUMBERS = st.sampled_from(["0", "-1", "1", "3", "nan", "inf", "-inf", "1e6", "1e-9", "0.5",
                           "abc", "", "1,2", "99999999999999999999"])
SHAPES = st.sampled_from(["28,28,1", "0,28,1", "-8", "28,28", "1,1,1", "28x28x1", "a,b,c",
                          ",", "28,,1", "1e3,1,1", "64,64,1", "3,3,1"])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def light_command_lines(draw) -> list[str]:
    """zoo, formulas and analyze of the small article nets, with options drawn from hostile
    values (analyze builds a 28x28 net: about a second)."""
    command = draw(st.sampled_from(["zoo", "formulas", "analyze"]))
    args = [command]
    if command == "formulas":
        args += draw(st.lists(st.sampled_from(["ratio", "v2_block", "nope"]), max_size=1))
        if draw(st.booleans()):
            name = draw(st.sampled_from(["N", "D_K", "alpha", "Q", "h"]))
            args += ["--subs", f"{name}={draw(NUMBERS)}"]
    if command == "analyze":
        args.append(draw(st.sampled_from(["naive", "v1", "v2", "mobilnet", "v1.keras"])))
        for option, values in (("--input-shape", SHAPES), ("--alpha", NUMBERS),
                               ("--classes", NUMBERS), ("--batch-size", NUMBERS),
                               ("--depth", NUMBERS), ("--group-by", TEXT)):
            if draw(st.integers(0, 3)) == 0:
                args += [option, draw(values)]
    if draw(st.booleans()):
        args += ["--format", draw(st.sampled_from(["json", "table", "csv", "xml", "", "JSON"]))]
    return args


@QUICK
@given(args=light_command_lines())
def test_drawn_command_lines_end_cleanly(args: list[str]) -> None:
    result = run_timed(*args)
    if result.exit_code == 0 and "--format" in args and args[args.index("--format") + 1] == "json":
        json.loads(result.stdout)


@pytest.mark.slow
@MANY
@given(args=light_command_lines())
def test_many_drawn_command_lines_end_cleanly(args: list[str]) -> None:
    run_timed(*args)


# --- hostile model files ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory) -> bytes:
    """The bytes of a real, small .keras file (a valid zip with config.json and weights)."""
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="c")(inputs)
    path = tmp_path_factory.mktemp("real") / "small.keras"
    keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)).save(path)
    return path.read_bytes()


def _with_config(archive: bytes, config: bytes) -> bytes:
    """``archive`` with its config.json replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = config if item.filename == "config.json" else source.read(item)
            target.writestr(item.filename, data)
    return out.getvalue()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8)


@st.composite
def hostile_files(draw, archive: bytes) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from([".keras", ".h5", ".hdf5"]))
    kind = draw(st.sampled_from(["random", "cut", "config", "empty"]))
    if kind == "random":
        return suffix, draw(st.binary(max_size=512))
    if kind == "cut":
        return ".keras", archive[: draw(st.integers(0, len(archive) - 1))]
    if kind == "config":
        config = json.dumps(draw(JSON_VALUES)).encode()
        return ".keras", _with_config(archive, config)
    return suffix, b""


def _check_file(tmp_path: Path, suffix: str, content: bytes) -> None:
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(content)
    result = run_timed("analyze", str(path), "--format", "json", "-o",
                       str(tmp_path / "out.json"))
    if result.exit_code != 0:
        assert not (tmp_path / "out.json").exists()  # nothing half-written


def test_hostile_model_files_end_cleanly(real_archive, tmp_path: Path) -> None:
    @QUICK
    @given(case=hostile_files(real_archive))
    def check(case: tuple[str, bytes]) -> None:
        _check_file(tmp_path, *case)

    check()


@pytest.mark.slow
def test_many_hostile_model_files_end_cleanly(real_archive, tmp_path: Path) -> None:
    @MANY
    @given(case=hostile_files(real_archive))
    def check(case: tuple[str, bytes]) -> None:
        _check_file(tmp_path, *case)

    check()


# --- the hostile-input list, mixed with hostile option values ------------------------------

HOSTILE_EXTRAS = st.sampled_from([
    [], ["--format", "json"], ["--batch-size", "²"], ["--threads", "100000"],
    ["--input-shape", "²,28,1"], ["--alpha", "1e6"], ["--seq-len", "-1"], ["--width", "³"]])


@pytest.fixture(scope="module")
def case_files(tmp_path_factory, saved_elsewhere) -> dict[str, str]:
    """The hostile list's files, in a folder of the fuzz test's own: the custom-class models
    copied from the session's fresh-process save (no second process)."""
    import shutil

    from tests.cli.hostile import make_files

    folder = tmp_path_factory.mktemp("hostile-fuzz")
    # only the saved models and their code: the special files (a /dev/zero link, sparse
    # 3 GiB files, pipes) are made anew by make_files, never copied
    for name in ("small.keras", "custom.keras", "scale_layer.py"):
        shutil.copy2(Path(saved_elsewhere["hostile"]) / name, folder / name)
    return make_files(folder, saved=True)


def _check_hostile(files: dict[str, str], case, extra: list[str]) -> None:
    from tests.cli.hostile import command

    args = command(case, files) + extra
    start = time.perf_counter()
    result = run_cli(*args)
    if result.exit_code == 130:  # Ctrl-C in the user's code: one line, the shell's code
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return
    assert_clean(result, time.perf_counter() - start, args)


def test_hostile_cases_with_more_options_end_cleanly(case_files) -> None:
    from tests.cli.hostile import CASES

    @QUICK
    @given(case=st.sampled_from(CASES), extra=HOSTILE_EXTRAS)
    def check(case, extra: list[str]) -> None:
        _check_hostile(case_files, case, extra)

    check()


@pytest.mark.slow
def test_many_hostile_cases_with_more_options_end_cleanly(case_files) -> None:
    from tests.cli.hostile import CASES

    @settings(max_examples=400, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(case=st.sampled_from(CASES), extra=HOSTILE_EXTRAS)
    def check(case, extra: list[str]) -> None:
        _check_hostile(case_files, case, extra)

    check()
