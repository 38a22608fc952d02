"""Formulas against hand calculations (every expected number is worked out in the test)."""

from __future__ import annotations

import pytest
import sympy

from convcost.count import formulas as f


def test_standard_conv_matches_the_article():
    # D_K*D_K*M*N params (plus N biases); D_K*D_K*M*N*D_W*D_H mult-adds.
    cost = f.conv((3, 3), 32, 64, (14, 14))
    assert cost.params == 3 * 3 * 32 * 64 + 64 == 18_496
    assert cost.macs == 3 * 3 * 32 * 64 * 14 * 14 == 3_612_672
    assert cost.other_flops == 64 * 14 * 14  # one bias add per output element


def test_depthwise_conv_matches_the_article():
    cost = f.depthwise((3, 3), 32, (14, 14))
    assert cost.params == 3 * 3 * 32 + 32 == 320
    assert cost.macs == 3 * 3 * 32 * 14 * 14 == 56_448


def test_depthwise_with_multiplier_is_a_grouped_conv():
    assert f.depthwise((3, 3), 8, (5, 5), depth_multiplier=2) == f.conv(
        (3, 3), 8, 16, (5, 5), groups=8)


def test_pointwise_matches_the_article():
    cost = f.pointwise(32, 64, (14, 14), bias=False)
    assert (cost.params, cost.macs) == (32 * 64, 32 * 64 * 14 * 14)


def test_separable_is_depthwise_plus_pointwise():
    cost = f.separable((3, 3), 32, 64, (14, 14), bias=False)
    assert cost.params == 9 * 32 + 32 * 64
    assert cost.macs == (9 * 32 + 32 * 64) * 196


def test_grouped_conv_divides_input_channels():
    cost = f.conv((3, 3), 16, 32, (8, 8), groups=4, bias=False)
    assert cost.params == 3 * 3 * 4 * 32
    assert cost.macs == 3 * 3 * 4 * 32 * 64


@pytest.mark.parametrize(
    ("kernel", "out_size", "macs"),
    [((5,), (10,), 5 * 3 * 4 * 10), ((3, 3, 3), (2, 4, 4), 27 * 3 * 4 * 32)],
)
def test_conv_1d_and_3d(kernel, out_size, macs):
    assert f.conv(kernel, 3, 4, out_size, bias=False).macs == macs


def test_transposed_conv_scatters_from_each_input_position():
    # 3x3 kernel, 8 -> 4 channels, 5x5 input upsampled to 10x10
    cost = f.conv_transpose((3, 3), 8, 4, (5, 5), (10, 10))
    assert cost.params == 9 * 8 * 4 + 4
    assert cost.macs == 9 * 8 * 4 * 25
    assert cost.other_flops == 4 * 100


def test_dense_on_a_sequence_counts_every_position():
    cost = f.dense(64, 10, positions=7)
    assert (cost.params, cost.macs) == (64 * 10 + 10, 64 * 10 * 7)


def test_batch_norm_params_and_flops():
    cost = f.batch_norm(128, elements=128)
    assert (cost.params, cost.macs, cost.other_flops) == (512, 0, 256)
    assert f.batch_norm(10, center=False, scale=False).params == 20


def test_flops_are_two_per_mac_plus_elementwise():
    assert f.Cost(params=0, macs=10, other_flops=3).flops == 23


def test_inverted_residual_equals_the_paper_at_stride_one():
    h, w, d_in, d_out, t, k = 14, 14, 32, 64, 6, 3
    paper = h * w * d_in * t * (d_in + k * k + d_out)  # MobileNetV2 paper, Table 1 text
    assert f.inverted_residual(h, w, d_in, d_out, t).macs == paper


def test_inverted_residual_at_stride_two_runs_depthwise_on_the_small_map():
    expand = 14 * 14 * 16 * 96
    depthwise = 9 * 96 * 7 * 7
    project = 96 * 24 * 7 * 7
    assert f.inverted_residual(14, 14, 16, 24, 6, stride=2).macs == expand + depthwise + project


def test_formulas_take_sympy_symbols():
    k, m, n, h, w = sympy.symbols("D_K M N D_H D_W", positive=True, integer=True)
    cost = f.conv((k, k), m, n, (h, w), bias=False)
    assert sympy.expand(cost.macs - k**2 * m * n * h * w) == 0
    assert sympy.expand(f.depthwise((k, k), m, (h, w), bias=False).params - k**2 * m) == 0


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "expected"),
    [(28, 3, 2, "same", 1, 14), (28, 3, 1, "valid", 1, 26), (7, 3, 2, "valid", 1, 3),
     (10, 3, 1, "valid", 2, 6), (1, 1, 1, "same", 1, 1)],
)
def test_conv_output_length(size, kernel, stride, padding, dilation, expected):
    assert f.conv_output_length(size, kernel, stride, padding, dilation) == expected
