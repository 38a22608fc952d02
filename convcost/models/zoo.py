"""Reference nets by name: the article's three MNIST nets, every ``keras.applications`` model,
and keras-hub transformers, LLMs and MobileNets built from their published configurations.

The registry is plain data, so listing it (``convcost zoo``) needs neither TensorFlow nor
keras-hub; Keras is imported only when a model is built. Applications are built with
``weights=None`` and keras-hub models from configurations (:mod:`convcost.models.hub`):
nothing is downloaded. Built inside :func:`convcost.shape_only`, no weight is allocated,
which is all counting needs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convcost import checks
from convcost.errors import ConvcostError, one_line
from convcost.models import hub

MNIST_SHAPE = (28, 28, 1)


@dataclass(frozen=True)
class ZooEntry:
    """A model convcost can build by name, and the options it takes.

    ``input_shape`` is one sample's image shape, or for a text model ``(seq_len,)`` of each of
    its token inputs; ``seq_len`` is a text model's default sequence length (its context
    length, 0 for others); ``hub`` its keras-hub backbone class.
    """

    name: str
    summary: str
    input_shape: tuple[int, ...]
    classes: int
    takes_alpha: bool
    keras_name: str = ""  # the keras.applications constructor; empty for the article's nets
    hub: str = ""  # the keras_hub.models backbone; empty for Keras' own models
    seq_len: int = 0
    task: str = ""  # the keras_hub.models task built on the backbone (LM head, classifier)

    @property
    def source(self) -> str:
        """The class ``build`` makes by default (the task model where there is one)."""
        if self.hub:
            return f"keras_hub.{self.task or self.hub}"
        return f"keras.applications.{self.keras_name}" if self.keras_name else "article"

    @property
    def takes_classes(self) -> bool:
        """Whether ``classes`` can be chosen (keras-hub text models have none to choose)."""
        return not self.hub or bool(hub.HUB_MODELS[self.name].task_kwargs)


_ARTICLE = [
    ZooEntry("naive", "4 standard 3x3 convs (the article's baseline)", MNIST_SHAPE, 10, True),
    ZooEntry("v1", "naive with depthwise separable convs (MobileNet v1 style)", MNIST_SHAPE, 10,
             True),
    ZooEntry("v2", "stacked inverted-residual bottlenecks (MobileNet v2 style)", MNIST_SHAPE, 10,
             True),
]

# (name, keras constructor, default resolution, takes alpha)
_APPLICATIONS = [
    ("convnext_tiny", "ConvNeXtTiny", 224, False),
    ("convnext_small", "ConvNeXtSmall", 224, False),
    ("convnext_base", "ConvNeXtBase", 224, False),
    ("convnext_large", "ConvNeXtLarge", 224, False),
    ("convnext_xlarge", "ConvNeXtXLarge", 224, False),
    ("densenet121", "DenseNet121", 224, False),
    ("densenet169", "DenseNet169", 224, False),
    ("densenet201", "DenseNet201", 224, False),
    ("efficientnet_b0", "EfficientNetB0", 224, False),
    ("efficientnet_b1", "EfficientNetB1", 240, False),
    ("efficientnet_b2", "EfficientNetB2", 260, False),
    ("efficientnet_b3", "EfficientNetB3", 300, False),
    ("efficientnet_b4", "EfficientNetB4", 380, False),
    ("efficientnet_b5", "EfficientNetB5", 456, False),
    ("efficientnet_b6", "EfficientNetB6", 528, False),
    ("efficientnet_b7", "EfficientNetB7", 600, False),
    ("efficientnet_v2_b0", "EfficientNetV2B0", 224, False),
    ("efficientnet_v2_b1", "EfficientNetV2B1", 240, False),
    ("efficientnet_v2_b2", "EfficientNetV2B2", 260, False),
    ("efficientnet_v2_b3", "EfficientNetV2B3", 300, False),
    ("efficientnet_v2_s", "EfficientNetV2S", 384, False),
    ("efficientnet_v2_m", "EfficientNetV2M", 480, False),
    ("efficientnet_v2_l", "EfficientNetV2L", 480, False),
    ("inception_resnet_v2", "InceptionResNetV2", 299, False),
    ("inception_v3", "InceptionV3", 299, False),
    ("mobilenet", "MobileNet", 224, True),
    ("mobilenet_v2", "MobileNetV2", 224, True),
    ("mobilenet_v3_large", "MobileNetV3Large", 224, True),
    ("mobilenet_v3_small", "MobileNetV3Small", 224, True),
    ("nasnet_large", "NASNetLarge", 331, False),
    ("nasnet_mobile", "NASNetMobile", 224, False),
    ("resnet50", "ResNet50", 224, False),
    ("resnet101", "ResNet101", 224, False),
    ("resnet152", "ResNet152", 224, False),
    ("resnet50_v2", "ResNet50V2", 224, False),
    ("resnet101_v2", "ResNet101V2", 224, False),
    ("resnet152_v2", "ResNet152V2", 224, False),
    ("vgg16", "VGG16", 224, False),
    ("vgg19", "VGG19", 224, False),
    ("xception", "Xception", 299, False),
]



def _hub_entry(name: str, spec: hub.HubModel) -> ZooEntry:
    if spec.is_text:
        vocab = int(spec.config["vocabulary_size"]) if spec.task else 0
        return ZooEntry(name, spec.summary, (spec.context,), vocab, False, hub=spec.backbone,
                        seq_len=spec.context, task=spec.task)
    classes = int(spec.task_kwargs.get("num_classes", 0))
    return ZooEntry(name, spec.summary, (spec.image_size, spec.image_size, 3), classes, False,
                    hub=spec.backbone, task=spec.task)


#: The article's nets, in its order: the default models of ``train``, ``bench`` and ``compare``.
ARTICLE_NETS = ("naive", "v1", "v2")

ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in _ARTICLE} | {
    name: ZooEntry(name, f"keras.applications.{keras_name}", (size, size, 3), 1000, alpha,
                   keras_name)
    for name, keras_name, size, alpha in _APPLICATIONS
} | {name: _hub_entry(name, spec) for name, spec in hub.HUB_MODELS.items()}


def entry(name: str) -> ZooEntry:
    """The zoo entry called ``name`` (case-insensitive); a close-name hint when unknown."""
    if not isinstance(name, str):
        raise ConvcostError(f"A zoo model name is a string, e.g. 'mobilenet_v2'. Received: "
                            f"{type(name).__name__}.")
    key = name.strip().lower().replace("-", "_")
    if key in ZOO:
        return ZOO[key]
    close = difflib.get_close_matches(key, list(ZOO), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else (
        " Run 'convcost zoo' for the list.")
    raise ConvcostError(f"Unknown model name. Received: {name!r}.{hint}")


def build(name: str, *, input_shape: tuple[int, ...] | None = None, classes: int | None = None,
          alpha: float | None = None, include_top: bool = True) -> Any:
    """Build the zoo model ``name`` (a fresh ``keras.Model``; applications with no weights).

    Args:
        name: a zoo name, e.g. ``"v1"``, ``"mobilenet_v2"`` or ``"llama2_7b"``.
        input_shape: ``(H, W, C)``; default: the model's own (28x28x1, or 224x224x3 ...). A
            text model's sequence length is given to the analysis instead (``seq_len``).
        classes: number of output classes; default 10 (article nets) or 1000.
        alpha: width multiplier, for the models that take one.
        include_top: keep the classifier or LM head (``False``: features only / backbone).
    """
    spec = entry(name)
    if spec.hub:
        _check_hub_options(spec, input_shape, classes, alpha)
    else:
        shape = tuple(input_shape) if input_shape is not None else spec.input_shape
        _check_options(spec, shape, spec.classes if classes is None else classes, alpha)
    if spec.hub:
        return hub.build(spec.name, image_size=input_shape, classes=classes,
                         include_top=include_top)
    if spec.keras_name:
        return _application(spec, shape, spec.classes if classes is None else classes, alpha,
                            include_top)
    try:
        return _ARTICLE_BUILDERS[spec.name](shape, spec.classes if classes is None else classes,
                                            1.0 if alpha is None else alpha, include_top)
    except ValueError as error:  # Keras' shape checks, e.g. pooling a 1x1 map
        raise ConvcostError(f"Model {spec.name!r} cannot be built at this input shape: "
                            f"{one_line(error)} Received: input_shape={shape}.") from None


def _check_hub_options(spec: ZooEntry, shape: tuple[int, ...] | None, classes: int | None,
                       alpha: float | None) -> None:
    if alpha is not None:
        raise ConvcostError(f"Model {spec.name!r} takes no width multiplier. Received: "
                            f"alpha={alpha}.")
    if classes is not None and (not spec.takes_classes or classes <= 0):
        raise ConvcostError(f"Model {spec.name!r} takes no classes option (or a positive one "
                            f"where it has a classifier). Received: classes={classes}.")
    if shape is not None and spec.seq_len:
        raise ConvcostError(f"Model {spec.name!r} is a text model: its sequence length is set "
                            f"at analysis (seq_len=..., --seq-len L), not at build. Received: "
                            f"input_shape={tuple(shape)}.")
    if shape is not None and (len(shape) != 3 or any(int(d) <= 0 for d in shape)):
        raise ConvcostError(f"input_shape must be three positive sizes H, W, C. Received: "
                            f"{tuple(shape)}.")


def _check_options(spec: ZooEntry, shape: tuple[int, ...], classes: int,
                   alpha: float | None) -> None:
    if len(shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0
                              for d in shape):
        raise ConvcostError(f"input_shape must be three positive sizes H, W, C. Received: {shape}.")
    for size in shape:
        checks.dimension("input_shape sizes", size, shown=str(shape))
    checks.dimension("classes", classes, shown=f"classes={classes}")
    if alpha is not None and not spec.takes_alpha:
        raise ConvcostError(f"Model {spec.name!r} takes no width multiplier. Received: "
                            f"alpha={alpha}.")
    if alpha is not None:
        checks.positive("alpha", alpha, shown=f"alpha={alpha}")


def _application(spec: ZooEntry, shape: tuple[int, ...], classes: int, alpha: float | None,
                 include_top: bool) -> Any:
    import keras

    constructor = getattr(keras.applications, spec.keras_name)
    kwargs: dict[str, Any] = dict(weights=None, input_shape=shape, classes=classes,
                                  include_top=include_top)
    if alpha is not None:
        kwargs["alpha"] = alpha
    try:
        return constructor(**kwargs)
    except ValueError as error:
        message = one_line(error)
        raise ConvcostError(f"keras.applications.{spec.keras_name} refused the options: "
                            f"{message} Received: input_shape={shape}, alpha={alpha}.") from None


# --- the article's nets ----------------------------------------------------------------------


def scale_width(channels: int, alpha: float) -> int:
    """Channels under width multiplier ``alpha``, rounded as Keras' MobileNet does (int, >= 1)."""
    return max(1, int(channels * alpha))


def _head(x: Any, classes: int, alpha: float, batch_norm: bool) -> Any:
    from keras import layers

    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if batch_norm:
        x = layers.BatchNormalization(name="bn_1")(x)
    x = layers.Dense(scale_width(128, alpha), activation="relu", name="fc1")(x)
    if batch_norm:
        x = layers.BatchNormalization(name="bn_2")(x)
    return layers.Dense(classes, activation="softmax", name="output")(x)


_CONVS = [(64, 1), (128, 1), (128, 2)]  # (filters, stride) of the convs after the first


def naive(input_shape: tuple[int, ...] = MNIST_SHAPE, classes: int = 10, alpha: float = 1.0,
          include_top: bool = True) -> Any:
    """The article's naive net: four standard 3x3 convs, GAP, BN, Dense(128), BN, Dense(k)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="input")
    x = layers.Conv2D(scale_width(32, alpha), 3, strides=2, padding="same", activation="relu",
                      name="conv_1")(inputs)
    for index, (filters, stride) in enumerate(_CONVS, start=2):
        x = layers.Conv2D(scale_width(filters, alpha), 3, strides=stride, padding="same",
                          activation="relu", name=f"conv_{index}")(x)
    outputs = _head(x, classes, alpha, batch_norm=True) if include_top else x
    return keras.Model(inputs, outputs, name="naive")


def v1(input_shape: tuple[int, ...] = MNIST_SHAPE, classes: int = 10, alpha: float = 1.0,
       include_top: bool = True) -> Any:
    """The article's MobileNet v1 net: naive with each 3x3 conv after the first made separable."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="input")
    x = layers.Conv2D(scale_width(32, alpha), 3, strides=2, padding="same", activation="relu",
                      name="conv_1")(inputs)
    for index, (filters, stride) in enumerate(_CONVS, start=2):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu",
                                   name=f"dw_{index}")(x)
        x = layers.Conv2D(scale_width(filters, alpha), 1, padding="same", activation="relu",
                          name=f"pw_{index}")(x)
    outputs = _head(x, classes, alpha, batch_norm=True) if include_top else x
    return keras.Model(inputs, outputs, name="v1")


def bottleneck(x: Any, filters: int, t: int, name: str) -> Any:
    """The article's ``_bottleneck``: 1x1 expand to ``filters * t`` + ReLU6, 3x3 depthwise +
    ReLU6, linear 1x1 to ``filters``; a 1x1 conv on the shortcut when channels differ; add.

    As published, the expansion is ``t`` times the block's *output* channels (the paper's
    block expands its *input* channels); both are ``t * d`` inside a stage.
    """
    from keras import layers

    shortcut = x
    y = layers.Conv2D(filters * t, 1, padding="same", name=f"{name}_expand")(x)
    y = layers.ReLU(6.0, name=f"{name}_expand_relu6")(y)
    y = layers.DepthwiseConv2D(3, padding="same", name=f"{name}_dw")(y)
    y = layers.ReLU(6.0, name=f"{name}_dw_relu6")(y)
    y = layers.Conv2D(filters, 1, padding="same", name=f"{name}_project")(y)
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, padding="same", name=f"{name}_shortcut")(x)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def v2(input_shape: tuple[int, ...] = MNIST_SHAPE, classes: int = 10, alpha: float = 1.0,
       include_top: bool = True) -> Any:
    """The article's MobileNet v2 net: conv, 4 bottlenecks (t=6) with 2 max-pools, GAP, 2 dense."""
    import keras
    from keras import layers

    def width(channels: int) -> int:
        return scale_width(channels, alpha)

    inputs = keras.Input(shape=input_shape, name="input")
    x = layers.Conv2D(width(32), 3, padding="same", name="conv_1")(inputs)
    x = bottleneck(x, width(8), 6, "block_1")
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = bottleneck(x, width(16), 6, "block_2")
    x = bottleneck(x, width(16), 6, "block_3")
    x = layers.MaxPooling2D(2, name="pool_2")(x)
    x = bottleneck(x, width(32), 6, "block_4")
    outputs = _head(x, classes, alpha, batch_norm=False) if include_top else x
    return keras.Model(inputs, outputs, name="v2")


_ARTICLE_BUILDERS: dict[str, Callable[..., Any]] = {"naive": naive, "v1": v1, "v2": v2}
