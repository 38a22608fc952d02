"""The catalog: classes that cost nothing on purpose, and classes that cannot be costed."""

from __future__ import annotations

from typing import Any

import keras

from convcost.count.keras_internals import op_classes
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    register_rule,
)

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


@register_rule(*ZERO_COST)
def _zero_cost(layer: Any, call: Call) -> tuple[Piece, ...]:
    return (Piece("other"),)


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
