"""Render what ``convcost calibrate`` found: samples and cross-validated error per kernel kind."""

from __future__ import annotations

from typing import Any

from convcost.render.tables import check_choice

FORMATS = ("table",)


def summary(profile: dict[str, Any]) -> str:
    """Lines: the setting, the fixed cost per call, and per kind its samples and CV error."""
    lines = [f"latency profile: runtime {profile['runtime']}, {profile['threads']} thread(s), "
             f"batch {profile['batch']}, {profile.get('clock', 'wall')} clock; fixed cost per call "
             f"{profile['fixed_seconds'] * 1e6:.1f}"
             f" us",
             f"{'kernel kind':<14}{'samples':>8}{'CV RMSPE':>10}{'CV |err|':>10}"
             f"{'within 10%':>12}  method (trees/baseline)"]
    for kind, entry in profile["kinds"].items():
        cv = entry["cv"]
        lines.append(f"{kind:<14}{entry['samples']:>8}{_pct(cv['rmspe']):>10}"
                     f"{_pct(cv['mape']):>10}{_pct(cv['within_10']):>12}  "
                     f"{entry.get('method', '')}")
    lines += _composition(profile.get("composition"))
    lines += _overflow(profile.get("overflow"))
    lines += _sentinel(profile.get("sentinel"))
    seconds = profile.get("calibration_seconds")
    if seconds is not None:
        lines.append(f"measured for {seconds:.0f} s (load {profile.get('loadavg', '?')})")
    return "\n".join(lines) + "\n"


def render(data: dict[str, Any], fmt: str, opts: dict[str, Any] | None = None) -> str:
    """The calibration summary (``fmt`` is ``table``)."""
    check_choice("format", fmt, FORMATS)
    return summary(data)


def _composition(fitted: dict[str, Any] | None) -> list[str]:
    """How whole generated models compose from their kernels (absent in older profiles)."""
    if not fitted:
        return []
    applied, offset = fitted.get("applied", True), fitted.get("offset", 0.0)
    first = (f"whole models: {fitted['chains']} generated chains timed; a model = fixed cost + "
             f"{fitted['scale']:.3f} x its kernels' sum"
             + (f" {'+' if offset > 0 else '-'} {abs(offset) * 1e6:.1f} us per kernel"
                if offset else ""))
    if not applied:
        first += (f" (a factor of {fitted['fitted_scale']:.3f} did not predict held-out chains "
                  f"better)")
    return [first, f"  model-level error: plain sum RMSPE {_pct(fitted['rmspe_unscaled'])}, "
                   f"within 10% {_pct(fitted['within_10_unscaled'])}; with the factor, "
                   f"leave-one-out: {_pct(fitted['rmspe'])}, {_pct(fitted['within_10'])}"]


def _overflow(overflow: dict[str, Any] | None) -> list[str]:
    """What weights beyond the cache cost (absent: not measured, or an older profile)."""
    if not overflow:
        return []
    within = overflow["small_bytes"] / overflow["small_seconds"]
    beyond = overflow["large_bytes"] / overflow["large_seconds"]
    return [f"weights beyond the {overflow['cache_bytes'] / 2**20:.3g} MiB cache: "
            f"{overflow['seconds_per_byte'] * 1e12:.1f} ps more per byte (a dense layer reads "
            f"{within / 1e9:.1f} GB/s within it, {beyond / 1e9:.1f} GB/s beyond)"]


def _sentinel(guard: dict[str, Any] | None) -> list[str]:
    """How often bursts of load held the timings back (absent in older profiles)."""
    if not guard:
        return []
    usual = guard.get("usual_seconds")
    return [f"bursts of load: {guard['waits']} timings waited {guard['waited_s']:.1f} s for "
            f"them to pass, {guard['busy']} went ahead in one (sentinel kernel "
            f"{usual * 1e6 if usual else float('nan'):.1f} us, {guard['checks']} checks)"]


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{value:.1%}"  # NaN: too few samples to cross-validate
