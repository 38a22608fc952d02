"""JAX primitives costed as convcost.count.graph_ops costs TensorFlow ops: hand counts on small
jaxprs (any Keras backend: jax.make_jaxpr runs on its own), and (slow) Keras' JAX backend giving
the same params and MACs as TensorFlow for every keras-hub zoo model and the custom-layer tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from convcost.count import jax_ops  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent


def _tally(fn, *shapes, live=None):
    """(MACs by kind, other FLOPs, unknown) of ``fn``'s primitives; ``live`` marks the inputs
    that depend on the model input (default: all)."""
    args = [jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]
    jaxpr = jax.make_jaxpr(fn)(*args).jaxpr
    macs, flops, unknown = {}, 0, []
    for name, cost in jax_ops.jaxpr_costs(jaxpr, live or [True] * len(shapes)):
        if cost.category == "mac":
            macs[cost.kind] = macs.get(cost.kind, 0) + cost.macs
        flops += cost.flops
        unknown += [name] if cost.category == "unknown" else []
    return macs, flops, unknown


def test_matmul_of_input_and_weight_is_fully_connected():
    assert _tally(lambda x, w: x @ w, (3, 4), (4, 5), live=[True, False]) == (
        {"fully_connected": 3 * 5 * 4}, 0, [])


def test_product_of_two_activations_is_attention():
    scores = _tally(lambda q, k: jnp.einsum("bqd,bkd->bqk", q, k), (2, 5, 8), (2, 7, 8))
    assert scores == ({"attention": 2 * 5 * 7 * 8}, 0, [])


def test_depthwise_and_pointwise_convolutions_by_hand():
    def depthwise(x, w):  # NHWC 8x8x4, 3x3 per channel, 'SAME'
        return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", feature_group_count=4,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def pointwise(x, w):
        return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    assert _tally(depthwise, (1, 8, 8, 4), (3, 3, 1, 4), live=[True, False])[0] == {
        "depthwise": 8 * 8 * 4 * 9}
    assert _tally(pointwise, (1, 8, 8, 4), (1, 1, 4, 6), live=[True, False])[0] == {
        "pointwise": 8 * 8 * 6 * 4}


def test_softmax_and_mean_count_as_tensorflow_counts_its_ops():
    assert _tally(lambda x: jax.nn.softmax(x), (2, 5, 5)) == ({}, 3 * 50, [])  # Softmax: 3
    assert _tally(lambda x: jnp.mean(x, axis=(1, 2)), (1, 6, 6, 8)) == ({}, 6 * 6 * 8, [])
    assert _tally(lambda x: jax.nn.relu6(x) + 1.0, (4, 4)) == ({}, 16 + 16, [])  # Relu6: 1


def test_work_on_no_model_input_and_integer_work_are_not_counted():
    def decay(x):
        table = jnp.exp(-jnp.arange(10, dtype=jnp.float32))  # foldable: depends on no input
        return x * table

    assert _tally(decay, (10,)) == ({}, 10, [])
    ids = jax.make_jaxpr(lambda i: i + 1)(jax.ShapeDtypeStruct((5,), jnp.int32)).jaxpr
    assert [c.category for _, c in jax_ops.jaxpr_costs(ids, [True])] == ["int"]


def test_an_unknown_primitive_is_listed_never_zero():
    assert _tally(lambda x: jnp.sort(x), (6,))[2] == ["sort"]


# --- Keras' JAX backend against TensorFlow ------------------------------------------------------

# keras-hub runs another attention path on JAX for these (ops.dot_product_attention, its own
# mask merging): the element-wise work differs, the params and MACs do not.
JAX_OWN_ATTENTION = {"llama2_7b", "llama2_70b", "llama3_8b", "mistral_7b"}

COUNT = """
import json, sys
import convcost
from convcost.models import hub, zoo
out = {}
for name in hub.HUB_MODELS:
    seq = 64 if zoo.entry(name).seq_len else None
    report = convcost.analyze(name, seq_len=seq)
    out[name] = {"rows": [[r.path, r.params, r.macs] for r in report.layers],
                 "totals": [report.params, report.macs, report.other_flops],
                 "partial": sorted(report.unsupported)}
json.dump(out, sys.stdout)
"""


def _counts(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", COUNT], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_keras_hub_zoo_models_count_the_same_on_jax_and_tensorflow():
    tensorflow, on_jax = _counts("tensorflow"), _counts("jax")
    assert set(tensorflow) == set(on_jax) and len(on_jax) >= 9
    for name, expected in tensorflow.items():
        got = on_jax[name]
        assert got["partial"] == expected["partial"] == [], name  # nothing left uncounted
        assert got["totals"][:2] == expected["totals"][:2], name  # params, MACs
        macs_per_path = {}
        for path, _, macs in expected["rows"]:
            macs_per_path[path] = macs_per_path.get(path, 0) + macs
        for path, _, macs in got["rows"]:
            macs_per_path[path] = macs_per_path.get(path, 0) - macs
        assert not {p: m for p, m in macs_per_path.items() if m}, name  # row by row
        if name not in JAX_OWN_ATTENTION:
            assert got["totals"][2] == expected["totals"][2], name  # other FLOPs


@pytest.mark.slow
def test_custom_layer_tests_pass_on_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/count/test_custom_layers.py", "tests/count/test_graph_ops.py"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:]
