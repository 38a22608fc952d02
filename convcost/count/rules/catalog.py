"""The catalog of supported layers: every built-in class with its rule (:data:`RULES`, from
which the rule table is built), the classes that cost nothing on purpose (:data:`ZERO_COST`)
and the built-in classes that cannot be costed, each with its reason (:data:`NOT_APPLICABLE`).

The rules themselves live in one module per family, named after what they hold
(:mod:`.conv`, :mod:`.dense`, :mod:`.norm`, :mod:`.activation`, :mod:`.pooling`,
:mod:`.merge`, :mod:`.resizing`, :mod:`.attention`, :mod:`.recurrent`, :mod:`.applications`,
:mod:`.ops`); keras-hub's are registered by :func:`.hub.register` once keras-hub is imported.
A user's rule is added with :func:`~convcost.count.rules.base.register_rule`, the same way
:func:`register_catalog` adds these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from convcost.count.keras_internals import op_classes, optional_class
from convcost.count.report import Piece
from convcost.count.rules import (
    activation,
    applications,
    attention,
    conv,
    dense,
    merge,
    norm,
    ops,
    pooling,
    recurrent,
    resizing,
)
from convcost.count.rules.base import Call, Rule, register_rule

ZERO_COST: tuple[type, ...] = (
    # data movement and bookkeeping
    keras.layers.InputLayer,
    keras.layers.Identity,
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.RepeatVector,
    keras.layers.Concatenate,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.UpSampling1D,  # nearest neighbour only: a copy
    keras.layers.UpSampling3D,  # nearest neighbour only: a copy
    keras.layers.CategoryEncoding,  # one-hot / multi-hot: writes ones, no arithmetic
    # regularization and noise: identity at inference
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    # random augmentation: identity at inference (training=False)
    keras.layers.AugMix,
    keras.layers.CutMix,
    keras.layers.MixUp,
    keras.layers.RandAugment,
    keras.layers.RandomBrightness,
    keras.layers.RandomColorDegeneration,
    keras.layers.RandomColorJitter,
    keras.layers.RandomContrast,
    keras.layers.RandomCrop,
    keras.layers.RandomElasticTransform,
    keras.layers.RandomErasing,
    keras.layers.RandomFlip,
    keras.layers.RandomGaussianBlur,
    keras.layers.RandomGrayscale,
    keras.layers.RandomHue,
    keras.layers.RandomInvert,
    keras.layers.RandomPerspective,
    keras.layers.RandomPosterization,
    keras.layers.RandomRotation,
    keras.layers.RandomSaturation,
    keras.layers.RandomSharpness,
    keras.layers.RandomShear,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
    # keras.ops that only move data
    *op_classes("numpy", "Reshape Transpose ExpandDims Squeeze Concatenate Stack GetItem Pad Tile "
          "Repeat BroadcastTo Split Flip Moveaxis Swapaxes Ravel Copy Roll ZerosLike OnesLike"),
    *op_classes("core", "Cast Slice ConvertToTensor StopGradient"),
)
"""Layers and operations that do no arithmetic at inference (data movement, or training-only
noise and augmentation); each still gets a row, with 0 MACs and 0 FLOPs."""

def zero_cost(layer: Any, call: Call) -> tuple[Piece, ...]:
    return (Piece("other"),)


RULES: dict[type | None, Rule] = {
    # convolutions (conv.py)
    keras.layers.Conv1D: conv.conv,
    keras.layers.Conv2D: conv.conv,
    keras.layers.Conv3D: conv.conv,
    keras.layers.Conv1DTranspose: conv.conv_transpose,
    keras.layers.Conv2DTranspose: conv.conv_transpose,
    keras.layers.Conv3DTranspose: conv.conv_transpose,
    keras.layers.DepthwiseConv1D: conv.depthwise,
    keras.layers.DepthwiseConv2D: conv.depthwise,
    keras.layers.SeparableConv1D: conv.separable,
    keras.layers.SeparableConv2D: conv.separable,
    # matrix products and embeddings (dense.py)
    keras.layers.Dense: dense.dense,
    keras.layers.EinsumDense: dense.einsum_dense,
    keras.layers.Embedding: dense.embedding,
    keras.layers.ReversibleEmbedding: dense.reversible_embedding,
    keras.layers.Dot: dense.dot,
    # normalization and rescaling (norm.py)
    keras.layers.BatchNormalization: norm.batch_norm,
    keras.layers.LayerNormalization: norm.layer_norm,
    keras.layers.GroupNormalization: norm.group_norm,
    keras.layers.RMSNormalization: norm.rms_norm,
    keras.layers.UnitNormalization: norm.unit_norm,
    keras.layers.Normalization: norm.normalization,
    keras.layers.Rescaling: norm.rescaling,
    keras.layers.SpectralNormalization: norm.spectral_norm,
    # activations and masking (activation.py)
    keras.layers.Activation: activation.activation,
    keras.layers.ReLU: activation.activation,
    keras.layers.LeakyReLU: activation.activation,
    keras.layers.ELU: activation.activation,
    keras.layers.PReLU: activation.prelu,
    keras.layers.Softmax: activation.softmax,
    keras.layers.Masking: activation.masking,
    # pooling (pooling.py)
    keras.layers.MaxPooling1D: pooling.pooling,
    keras.layers.MaxPooling2D: pooling.pooling,
    keras.layers.MaxPooling3D: pooling.pooling,
    keras.layers.AveragePooling1D: pooling.pooling,
    keras.layers.AveragePooling2D: pooling.pooling,
    keras.layers.AveragePooling3D: pooling.pooling,
    keras.layers.GlobalAveragePooling1D: pooling.global_pooling,
    keras.layers.GlobalAveragePooling2D: pooling.global_pooling,
    keras.layers.GlobalAveragePooling3D: pooling.global_pooling,
    keras.layers.GlobalMaxPooling1D: pooling.global_pooling,
    keras.layers.GlobalMaxPooling2D: pooling.global_pooling,
    keras.layers.GlobalMaxPooling3D: pooling.global_pooling,
    keras.layers.AdaptiveAveragePooling1D: pooling.adaptive_pooling,
    keras.layers.AdaptiveAveragePooling2D: pooling.adaptive_pooling,
    keras.layers.AdaptiveAveragePooling3D: pooling.adaptive_pooling,
    keras.layers.AdaptiveMaxPooling1D: pooling.adaptive_pooling,
    keras.layers.AdaptiveMaxPooling2D: pooling.adaptive_pooling,
    keras.layers.AdaptiveMaxPooling3D: pooling.adaptive_pooling,
    # merging (merge.py)
    keras.layers.Add: merge.merge,
    keras.layers.Subtract: merge.merge,
    keras.layers.Multiply: merge.merge,
    keras.layers.Maximum: merge.merge,
    keras.layers.Minimum: merge.merge,
    keras.layers.Average: merge.average,
    # resizing and cropping (resizing.py)
    keras.layers.UpSampling2D: resizing.resize,
    keras.layers.Resizing: resizing.resize,
    keras.layers.CenterCrop: resizing.center_crop,
    # attention (attention.py)
    keras.layers.MultiHeadAttention: attention.multi_head_attention,
    keras.layers.GroupQueryAttention: attention.group_query_attention,
    keras.layers.Attention: attention.attention,
    keras.layers.AdditiveAttention: attention.additive_attention,
    # recurrent (recurrent.py)
    keras.layers.SimpleRNNCell: recurrent.simple_rnn_cell,
    keras.layers.LSTMCell: recurrent.lstm_cell,
    keras.layers.GRUCell: recurrent.gru_cell,
    keras.layers.StackedRNNCells: recurrent.stacked_cells,
    keras.layers.RNN: recurrent.rnn,
    optional_class("layers.rnn.conv_lstm", "ConvLSTMCell"): recurrent.conv_lstm_cell,
    keras.layers.Bidirectional: recurrent.bidirectional,
    keras.layers.TimeDistributed: recurrent.time_distributed,
    # layers inside keras.applications models (applications.py)
    optional_class("applications.convnext", "LayerScale"): applications.layer_scale,
    optional_class("applications.inception_resnet_v2", "CustomScaleLayer"):
        applications.custom_scale,
    # keras.ops nodes of functional graphs (ops.py)
    **dict.fromkeys(ops.ELEMENTWISE_OPS, ops.elementwise_op),
    **dict.fromkeys(op_classes("nn", "Softmax LogSoftmax"), ops.softmax_op),
    **dict.fromkeys(op_classes("numpy", "Mean Sum Max Min Prod Amax Amin"), ops.reduction_op),
    **dict.fromkeys(op_classes("numpy", "Matmul"), ops.matmul_op),
    # no arithmetic at inference (ZERO_COST above)
    **dict.fromkeys(ZERO_COST, zero_cost),
}
"""Every built-in class with a rule, by family; the rule table is built from it by
:func:`register_catalog`. A key is None where this Keras lacks an optional class."""


def register_catalog(rules: Mapping[type | None, Rule] = RULES) -> None:
    """Register each class's rule (:func:`register_rule`), skipping classes this Keras lacks."""
    for cls, rule in rules.items():
        if cls is not None:
            register_rule(cls)(rule)


register_catalog()


NOT_APPLICABLE: dict[str, str] = {
    "Layer": "abstract base class; a subclass is costed by its own rule or reported unsupported",
    "Wrapper": "abstract base of Bidirectional, TimeDistributed, SpectralNormalization",
    "Lambda": "arbitrary Python function: reported unsupported (register a rule for a subclass)",
    "TFSMLayer": "opaque TensorFlow SavedModel: reported unsupported",
    "JaxLayer": "opaque JAX function: reported unsupported",
    "FlaxLayer": "opaque Flax module: reported unsupported",
    "TorchModuleWrapper": "opaque PyTorch module: reported unsupported",
    "Pipeline": "a container of preprocessing layers: traced into its layers like any layer "
                "without a rule that holds sub-layers",
    "Discretization": "lookup (bucketize by comparisons), no floating-point arithmetic counted",
    "Hashing": "lookup (string/integer hashing), no floating-point arithmetic",
    "HashedCrossing": "lookup (feature crossing by hashing), no floating-point arithmetic",
    "IntegerLookup": "lookup table (vocabulary), no floating-point arithmetic",
    "StringLookup": "lookup table (vocabulary), no floating-point arithmetic",
    "TextVectorization": "string processing and lookup, no floating-point arithmetic",
    "MelSpectrogram": "FFT-based signal preprocessing; FFT cost not modelled",
    "STFTSpectrogram": "FFT-based signal preprocessing; FFT cost not modelled",
    "AutoContrast": "data-dependent image processing (per-image min/max), not modelled",
    "Equalization": "data-dependent image processing (histograms), not modelled",
    "ContrastLimitedAdaptiveHistogramEqualization": "data-dependent histogram processing, "
                                                    "not modelled",
    "Solarization": "data-dependent image thresholding, not modelled",
    "MaxNumBoundingBoxes": "bounding-box bookkeeping for detection data, not image arithmetic",
}
"""Built-in ``keras.layers`` classes with no rule, on purpose, and why. Models using them get
an unsupported row (never a silent zero)."""
