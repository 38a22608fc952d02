"""``--strict``: the findings that turn a count into a failure (exit 2): layers or ops with no
cost rule, and a params check that failed."""

from __future__ import annotations

from convcost.count.report import Report
from convcost.errors import UnsupportedLayerError
from convcost.models.loader import Resolved, max_positions


def check(report: Report) -> None:
    """Raise :class:`UnsupportedLayerError` on unsupported layers or a failed params check."""
    problems = []
    if report.unsupported:
        problems.append("no cost rule for " + _counted(report, "call"))
    if not report.params_match:
        layers = ", ".join(x.path for x in report.mismatched_layers) or "not found per layer"
        problems.append(f"params check failed: counted {report.params:,} vs count_params() "
                        f"{report.keras_count_params:,} (layers: {layers})")
    if problems:
        raise UnsupportedLayerError(f"--strict: {'; '.join(problems)}. Received: model "
                                    f"{report.model!r}.")


def check_positions(resolved: Resolved) -> None:
    """Raise :class:`UnsupportedLayerError` for a text model asked for more tokens than its
    learned positions (it would fail to run at that length)."""
    if resolved.past_positions:
        raise UnsupportedLayerError(
            f"--strict: {resolved.request.source!r} has "
            f"{max_positions(resolved.model):,} learned positions. Received: --seq-len "
            f"{resolved.seq_len}.")


def check_tflite(report: Report, source: str) -> None:
    """:func:`check` for a ``.tflite`` file's report: unsupported ops, or params that differ
    from the file's stored buffers."""
    problems = [f"no cost rule for {_counted(report, 'op')}"] if report.unsupported else []
    problems += [] if report.params_match else ["params differ from the stored buffers"]
    if problems:
        raise UnsupportedLayerError(f"--strict: {'; '.join(problems)}. Received: {source!r}.")


def _counted(report: Report, unit: str) -> str:
    return ", ".join(f"{name} ({count} {unit}{'s' if count > 1 else ''})"
                     for name, count in report.unsupported.items())
