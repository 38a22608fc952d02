"""The kernel mapping (analysis.kernels) against what the runtimes really run: the op list of
the .tflite file TensorFlow's converter writes (read by count.tflite), and Keras' layers."""

from __future__ import annotations

from collections import Counter

import pytest

from convcost.analysis.kernels import kernels_of

# Which .tflite builtin ops stand for a kernel kind (a standalone BatchNormalization is MUL+ADD).
TFLITE_OPS = {"conv": ["CONV_2D"], "pointwise": ["CONV_2D"], "depthwise": ["DEPTHWISE_CONV_2D"],
              "dense": ["FULLY_CONNECTED"], "pool": ["MAX_POOL_2D"], "global_pool": ["MEAN"],
              "softmax": ["SOFTMAX"], "batchnorm": ["MUL", "ADD"], "pad": ["PAD"],
              "reshape": ["RESHAPE"], "concat": ["CONCATENATION"]}
# ... and an activation kernel, by its code (kernels.ACTIVATION_CODES); swish is x * sigmoid(x)
ACTIVATION_OPS = {1: ["RELU"], 2: ["RELU6"], 3: ["LOGISTIC"], 4: ["LOGISTIC", "MUL"],
                  5: ["HARD_SWISH"], 6: ["TANH"]}


def _mobile_block_model():
    """Conv+BN+ReLU, depthwise+BN+ReLU6, 1x1+BN (linear), a residual add then ReLU,
    max pooling, a BN that follows a pooling (nothing to fold into), a swish, global pooling,
    Flatten, Dropout, and a dense softmax head."""
    import keras
    from keras import layers

    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    z = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
    z = layers.ReLU(6.0)(layers.BatchNormalization()(z))
    z = layers.BatchNormalization()(layers.Conv2D(16, 1, use_bias=False)(z))
    y = layers.Activation("relu")(layers.Add()([y, z]))
    y = layers.BatchNormalization()(layers.MaxPooling2D(2)(y))
    y = layers.Conv2D(24, 3, padding="same", activation="swish")(y)
    y = layers.ZeroPadding2D(1)(y)
    y = layers.GlobalAveragePooling2D()(y)
    y = layers.Dropout(0.2)(y)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(y))
    randomize_batchnorms(model)
    return model


def randomize_batchnorms(model):
    """Trained-looking BatchNormalization weights (a zero beta would let the converter drop
    the ADD of a standalone one)."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                               for w in layer.get_weights()])


def _read_converted(model, folder, precision="fp32"):
    """The .tflite file TensorFlow's converter writes for ``model``, read back."""
    from convcost.count.tflite import read_tflite
    from convcost.measure.convert import to_tflite
    from convcost.measure.runtimes import random_batch

    path = folder / f"{model.name}_{precision}.tflite"
    shape = tuple(model.inputs[0].shape[1:])
    path.write_bytes(to_tflite(model, precision,
                               random_batch(shape, 4) if precision == "int8" else None))
    return read_tflite(path)


def _converted(tmp_path_factory, precision):
    from convcost.count.walker import analyze

    model = _mobile_block_model()
    return analyze(model), _read_converted(model, tmp_path_factory.mktemp("kernels"), precision)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return _converted(tmp_path_factory, "fp32")


@pytest.fixture(scope="module")
def mapped_int8(tmp_path_factory):
    return _converted(tmp_path_factory, "int8")


def _expected_ops(kernels):
    expected: Counter[str] = Counter()
    for kernel in kernels:
        if kernel.kind == "add":
            expected["ADD"] += 1
        elif kernel.kind == "activation":
            expected.update(ACTIVATION_OPS[kernel.shape.act])
        else:
            expected.update(TFLITE_OPS[kernel.kind])
    return expected


@pytest.mark.parametrize(("fixture", "runtime"), [("mapped", "litert"),
                                                  ("mapped_int8", "litert-int8")])
def test_litert_kernels_are_the_ops_of_the_converted_file(fixture, runtime, request):
    report, file = request.getfixturevalue(fixture)
    kernels = [k for k in kernels_of(report, runtime) if k.kind != "none"]
    ops = Counter(op.name for op in file.ops)
    assert ops == _expected_ops(kernels), (ops, [k.kind for k in kernels])


@pytest.mark.parametrize(("fixture", "runtime"), [("mapped", "litert"),
                                                  ("mapped_int8", "litert-int8")])
def test_fused_activations_are_those_the_converter_fused(fixture, runtime, request):
    report, file = request.getfixturevalue(fixture)
    kernels = kernels_of(report, runtime)
    fused = [k for k in kernels if any(t in ("ReLU", "Activation") for t in k.fused)]
    with_activation = [op for op in file.ops if op.activation != "NONE"]
    assert len(fused) == len(with_activation) == 3
    assert sorted(op.activation for op in with_activation) == ["RELU", "RELU", "RELU6"]


def test_the_int8_file_runs_int8_kernels(mapped_int8):
    _, file = mapped_int8
    convs = [op for op in file.ops if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert convs and {file.tensor(op.inputs[0]).dtype for op in convs} == {"INT8"}


def _ops_of_file(model, tmp_path):
    return Counter(op.name for op in _read_converted(model, tmp_path).ops)


def _mapped_ops(model):
    """The op counts the kernel mapping implies (pools by their kind of pooling)."""
    from convcost.count.walker import analyze

    kernels = [k for k in kernels_of(analyze(model), "litert") if k.kind != "none"]
    pools = [k for k in kernels if k.kind == "pool"]
    ops = _expected_ops([k for k in kernels if k.kind != "pool"])
    ops.update("AVERAGE_POOL_2D" if k.shape.act else "MAX_POOL_2D" for k in pools)
    return ops


def _padded(size, pad, layer):
    import keras

    x = keras.Input((size, size, 8))
    return keras.Model(x, layer(keras.layers.ZeroPadding2D(pad)(x)))


PAD_CASES = {  # (input size, padding, the layer after it): does the converter keep a PAD?
    "depthwise 3x3/2, even map, (0, 1): as 'same'": (16, ((0, 1), (0, 1)), "dw", 3, 2),
    "depthwise 3x3/2, even map, (1, 1)": (16, 1, "dw", 3, 2),
    "depthwise 3x3/2, odd map, (1, 1): as 'same'": (15, 1, "dw", 3, 2),
    "conv 3x3/1, (1, 1): as 'same'": (16, 1, "conv", 3, 1),
    "conv 7x7/2, (3, 3)": (32, 3, "conv", 7, 2),
    "conv 3x3/1, (2, 2)": (16, 2, "conv", 3, 1),
    "max pool 3x3/2, (0, 1)": (16, ((0, 1), (0, 1)), "max", 3, 2),
}


@pytest.mark.parametrize("case", PAD_CASES)
def test_a_pad_is_folded_exactly_when_the_converter_folds_it(case, tmp_path):
    from keras import layers

    size, pad, kind, k, stride = PAD_CASES[case]
    layer = {"dw": lambda: layers.DepthwiseConv2D(k, stride),
             "conv": lambda: layers.Conv2D(8, k, stride),
             "max": lambda: layers.MaxPooling2D(k, stride)}[kind]()
    model = _padded(size, pad, layer)
    assert _mapped_ops(model) == _ops_of_file(model, tmp_path)


def test_a_relu_after_a_standalone_batchnorm_is_fused_into_it(tmp_path):
    """DenseNet's concat -> BN -> ReLU: the converter writes MUL, ADD with a fused RELU."""
    import keras
    from keras import layers

    x = keras.Input((16, 16, 8))
    y = layers.Concatenate()([x, layers.Conv2D(8, 3, padding="same")(x)])
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.MaxPooling2D()(y)))
    model = keras.Model(x, y)
    randomize_batchnorms(model)
    ops = _ops_of_file(model, tmp_path)
    assert ops["RELU"] == ops["RELU6"] == 0  # both fused into the ADDs
    assert _mapped_ops(model) == ops


def test_the_same_weightless_op_on_one_tensor_runs_once(tmp_path):
    """NASNet's branches each apply ReLU (or the same pooling) to one tensor: the converter
    computes it once; a ReLU that is the conv's only reader (three times) fuses into it."""
    import keras
    from keras import layers

    x = keras.Input((16, 16, 8))
    y = layers.Conv2D(8, 3, padding="same")(x)
    branches = [layers.Conv2D(8, 1)(layers.ReLU()(y)) for _ in range(3)]
    pools = [layers.AveragePooling2D(3, 1, "same")(y) for _ in range(2)]
    shared = keras.Model(x, layers.Concatenate()([*branches, *pools]))
    ops = _ops_of_file(shared, tmp_path)
    assert ops["RELU"] == 1 and ops["AVERAGE_POOL_2D"] == 1  # once each, not 3 and 2
    assert _mapped_ops(shared) == ops
    z = layers.Conv2D(8, 3, padding="same")(x)
    only = keras.Model(x, layers.Concatenate()([layers.Conv2D(8, 1)(layers.ReLU()(z))
                                                for _ in range(3)]))
    ops = _ops_of_file(only, tmp_path)
    assert ops["RELU"] == 0  # fused into the conv: its three readers are one ReLU
    assert _mapped_ops(only) == ops


def test_batchnorm_folds_into_convs_only_on_litert(mapped):
    report, _ = mapped
    litert = [k.kind for k in kernels_of(report, "litert")]
    tf = [k.kind for k in kernels_of(report, "tf")]
    assert litert.count("batchnorm") == 1  # the one after the pooling
    assert tf.count("batchnorm") == 4  # TensorFlow runs every BatchNormalization
    assert tf.count("activation") == 4  # two ReLUs, a ReLU6, the relu after the add; swish: +1
    rows = sum(len(k.rows) for k in kernels_of(report, "litert"))
    # every row once; the conv with swish and the dense softmax head give two kernels each
    assert rows == len(report.layers) + 2


def test_separable_conv_is_a_depthwise_and_a_pointwise_kernel():
    import keras

    from convcost.count.walker import analyze

    x = keras.Input((16, 16, 8))
    model = keras.Model(x, keras.layers.SeparableConv2D(12, 3, padding="same")(x))
    kernels = kernels_of(analyze(model), "litert")
    assert [k.kind for k in kernels] == ["depthwise", "pointwise"]
    depthwise, pointwise = (k.shape for k in kernels)
    assert depthwise.flops + pointwise.flops == 2 * (16 * 16 * 8 * 9 + 16 * 16 * 8 * 12)
    assert depthwise.weights + pointwise.weights == model.layers[1].count_params()
    assert depthwise.groups == pointwise.groups == 1  # as a DepthwiseConv2D row has


def test_an_unknown_layer_is_a_flagged_kernel_not_zero():
    import keras

    from convcost.count.walker import analyze

    x = keras.Input((8, 8, 4))
    model = keras.Model(x, keras.layers.UpSampling2D()(x))
    (kernel,) = kernels_of(analyze(model), "litert")
    assert kernel.kind == "unknown" and "UpSampling2D" in kernel.note


def test_a_dense_softmax_head_is_a_dense_and_a_softmax_of_its_output():
    import keras

    from convcost.count.walker import analyze

    x = keras.Input((64,))
    model = keras.Model(x, keras.layers.Dense(10, activation="softmax")(x))
    dense, softmax = kernels_of(analyze(model), "litert")
    assert (dense.kind, softmax.kind) == ("dense", "softmax")
    assert dense.shape.weights == 64 * 10 + 10
    assert (softmax.shape.elements_in, softmax.shape.elements_out) == (10, 10)
    assert softmax.shape.flops == 3 * 10  # exp, sum, divide per class


def test_a_shape_is_read_back_from_a_profile_row_whatever_else_it_holds():
    from dataclasses import asdict

    from convcost.analysis.kernels import KernelShape

    shape = KernelShape(8, 16, 4, 4, 2, 2, k=3, stride=2, elements_in=128, flops=4096)
    assert KernelShape.from_row({**asdict(shape), "seconds": 2e-6, "kind": "conv"}) == shape
