"""Measurement: timing, machine probes, benchmarks, per-layer profiles, MNIST training."""
