"""One LLM inference analysis: ``analyze MODEL --decode / --generate / --device``.

Puts together the traced phases (:mod:`convcost.analysis.decode`), the memory and the
roofline bounds on a device (:mod:`convcost.analysis.inference`) into an :class:`LlmReport`,
which renderers print and ``to_dict`` serialises.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from convcost.analysis import decode as dec
from convcost.analysis import inference as inf
from convcost.errors import ConvcostError
from convcost.models.devices import DeviceSpec


@dataclass(frozen=True)
class LlmRequest:
    """What was asked: a decode step at ``context``, or ``generate = (P, N)``; the batch,
    the bits, the compute dtype, a device and its efficiency, the attention convention."""

    context: int | None = None
    generate: tuple[int, int] | None = None
    batch: int = 1
    precision: dec.Precision = field(default_factory=dec.Precision)
    dtype: str = "float32"
    device: DeviceSpec | None = None
    efficiency: float = 1.0
    attention: str = "executed"
    symbolic: bool = False

    def __post_init__(self) -> None:
        if (self.context is None) == (self.generate is None):
            raise ConvcostError("Give one of --context C (with --decode) and --generate P,N. "
                                f"Received: context={self.context}, generate={self.generate}.")


@dataclass(frozen=True)
class LlmReport:
    """The answer: the model's sizes, the phases, memory, and the device's bounds."""

    model: str
    params: int
    layout: dec.CacheLayout
    request: LlmRequest
    phases: tuple[dec.Phase, ...]
    tokens: int  # tokens in the cache at the end (per sequence)
    memory: inf.Memory
    times: tuple[inf.PhaseTime, ...] = ()
    max_batch: int | None = None
    notes: tuple[str, ...] = ()
    formulas: dict[str, dict[str, str]] | None = None  # --symbolic: phase -> field -> text

    def phase(self, name: str) -> dec.Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def total(self, field_name: str) -> int:
        """A field summed over every phase, per sequence."""
        return sum(p.total(field_name) for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        """Every number, bytes at the request's bits; times when a device was given."""
        return _report_json(self)


def analyze_llm(model: Any, request: LlmRequest) -> LlmReport:
    """Trace the phases of ``request`` on the keras-hub causal LM ``model``, size its
    memory, and bound its times on ``request.device``."""
    causal_lm = dec.causal_lm_of(model)
    layout = dec.cache_layout(causal_lm)
    phases: tuple[dec.Phase, ...]
    if request.generate is not None:
        prompt, steps = request.generate
        phases = (dec.prefill(causal_lm, layout, prompt, request.attention),
                  dec.decode_steps(causal_lm, layout, prompt, steps))
        tokens = prompt + steps
    else:
        assert request.context is not None
        phases = (dec.decode(causal_lm, layout, request.context),)
        tokens = request.context + 1
    report = _report(model.name, int(causal_lm.count_params()), layout, request, phases,
                     tokens)
    return replace(report, formulas=_formulas(causal_lm, layout, request))


def _report(name: str, params: int, layout: dec.CacheLayout, request: LlmRequest,
            phases: tuple[dec.Phase, ...], tokens: int) -> LlmReport:
    """The report of traced ``phases``: memory, notes, and the device's bounds."""
    biggest = max(phases, key=lambda p: max((r.activations for r in p.rows), default=0))
    need = inf.memory(params, layout, biggest, tokens=tokens, batch=request.batch,
                      precision=request.precision)
    report = LlmReport(name, params, layout, request, phases, tokens, need,
                       notes=_notes(layout, request))
    return _on_device(report, biggest) if request.device is not None else report


SWEEP_AXES = ("context", "batch")


@dataclass(frozen=True)
class LlmSweep:
    """A decode step across contexts or batch sizes: one report per value, each what
    :func:`analyze_llm` gives for that value alone."""

    axis: str
    reports: tuple[LlmReport, ...]

    def to_dict(self) -> dict[str, Any]:
        """The model, device and precision once, then one point per value."""
        return _sweep_json(self)


def sweep_llm(model: Any, request: LlmRequest, axis: str, values: list[int]) -> LlmSweep:
    """Decode at each context (``axis="context"``) or batch size (``"batch"``) of ``values``,
    the rest as in ``request``. Contexts take three traces in all (:func:`dec.decode_at`)."""
    causal_lm = dec.causal_lm_of(model)
    layout = dec.cache_layout(causal_lm)
    params = int(causal_lm.count_params())
    if axis == "context":
        phases = dec.decode_at(causal_lm, layout, values)
        asked = [replace(request, context=value) for value in values]
    else:
        assert request.context is not None
        phases = [dec.decode(causal_lm, layout, request.context)] * len(values)
        asked = [replace(request, batch=value) for value in values]
    return LlmSweep(axis, tuple(_report(model.name, params, layout, one, (phase,),
                                        (one.context or 0) + 1)
                                for one, phase in zip(asked, phases, strict=True)))


def _formulas(causal_lm: Any, layout: dec.CacheLayout,
              request: LlmRequest) -> dict[str, dict[str, str]] | None:
    if not request.symbolic:
        return None
    from convcost.analysis import decode_symbolic

    return decode_symbolic.as_text(decode_symbolic.formulas(causal_lm, layout,
                                                            request.attention))


def _on_device(report: LlmReport, biggest: dec.Phase) -> LlmReport:
    request = report.request
    assert request.device is not None
    times = tuple(inf.phase_time(p, request.device, dtype=request.dtype, batch=request.batch,
                                 precision=request.precision, efficiency=request.efficiency)
                  for p in report.phases)
    most = inf.largest_batch(request.device, report.params, report.layout, biggest,
                             tokens=report.tokens, precision=request.precision)
    return replace(report, times=times, max_batch=most)


def _notes(layout: dec.CacheLayout, request: LlmRequest) -> tuple[str, ...]:
    notes = ["Weights read per step: every weight of every layer called, an embedding lookup "
             "only its rows, an MoE bank the experts its tokens are routed to."]
    if layout.window is not None:
        notes.append(f"Sliding window {layout.window}: the cache keeps the last "
                     f"{layout.window} tokens (a rolling buffer; keras-hub's own cache keeps "
                     "all of them) and a new token attends to those.")
    if request.device is not None:
        label = "a bound" if request.efficiency == 1 else f"at efficiency {request.efficiency}"
        notes.append(f"Times are roofline bounds, max(FLOPs / peak, bytes / bandwidth), "
                     f"{label}; activation traffic is not counted, so real runs are slower.")
    return tuple(notes)


# --- JSON ------------------------------------------------------------------------------------


def _report_json(report: LlmReport) -> dict[str, Any]:
    request, precision = report.request, report.request.precision
    data: dict[str, Any] = {
        "model": report.model, "params": report.params,
        "mode": "generate" if request.generate else "decode",
        "context": request.context,
        "prompt_tokens": request.generate[0] if request.generate else None,
        "new_tokens": request.generate[1] if request.generate else 1,
        "batch_size": request.batch, "dtype": request.dtype,
        "weight_bits": precision.weight_bits, "kv_bits": precision.kv_bits,
        "kv_elements_per_token": report.layout.elements_per_token,
        "kv_bytes_per_token": precision.kv_bytes(report.layout.elements_per_token),
        "sliding_window": report.layout.window, "cache_tokens": report.tokens,
        "weight_bytes": report.memory.weight_bytes,
        "kv_cache_bytes": report.memory.kv_cache_bytes,
        "activation_bytes": report.memory.activation_bytes,
        "memory_bytes": report.memory.total,
        "phases": [_phase_json(p, request) for p in report.phases],
        "notes": list(report.notes),
    }
    data["totals"] = {k: sum(p[k] for p in data["phases"]) for k in _TOTALS}
    if report.formulas is not None:
        data["formulas"] = {"variables": {"C": "tokens cached before a decode step",
                                          "P": "prompt tokens", "N": "tokens generated"},
                            "unit": "per sequence; weights_read in weights, kv_* in elements",
                            **report.formulas}
    if request.device is not None:
        data.update(_device_json(report))
    return data


_TOTALS = ("macs", "flops", "weight_bytes_read", "kv_bytes_read", "kv_bytes_written")


def _phase_json(phase: dec.Phase, request: LlmRequest) -> dict[str, Any]:
    batch, precision = request.batch, request.precision

    def row(r: dec.StepRow) -> dict[str, Any]:
        return {"path": r.path, "type": r.type, "macs": batch * r.macs,
                "flops": batch * r.flops,
                "weight_bytes_read": precision.weight_bytes(r.weights_read),
                "kv_bytes_read": precision.kv_bytes(batch * r.kv_read),
                "kv_bytes_written": precision.kv_bytes(batch * r.kv_written)}

    layers = [row(r) for r in phase.rows]
    totals = {k: sum(x[k] for x in layers) for k in _TOTALS}
    return {"name": phase.name, "new_tokens": phase.new_tokens, "keys": phase.keys,
            "steps": phase.steps, **totals, "layers": layers}


def _device_json(report: LlmReport) -> dict[str, Any]:
    request = report.request
    assert request.device is not None
    prefill = report.phase("prefill")
    times = dict(zip((p.name for p in report.phases), report.times))
    decode_steps = report.phases[-1].steps
    per_token = times["decode"].seconds / decode_steps
    return {
        "device": request.device.to_dict(), "efficiency": request.efficiency,
        "bound": request.efficiency == 1,
        "phase_times": {name: {"seconds": t.seconds, "compute_s": t.compute_s,
                               "memory_s": t.memory_s, "limit": t.limit}
                        for name, t in times.items()},
        "time_to_first_token_s": times["prefill"].seconds if prefill is not None else None,
        "time_per_output_token_s": per_token,
        "tokens_per_s": request.batch / per_token,
        "fits": report.memory.total <= request.device.memory,
        "max_batch_size": report.max_batch,
    }


_POINT_KEYS = ("time_per_output_token_s", "tokens_per_s", "kv_cache_bytes", "weight_bytes",
               "memory_bytes", "fits", "max_batch_size")


def _sweep_json(sweep: LlmSweep) -> dict[str, Any]:
    first = sweep.reports[0].to_dict()
    keep = ("model", "params", "dtype", "weight_bits", "kv_bits", "kv_bytes_per_token",
            "sliding_window", "device", "efficiency", "bound")
    points = []
    for report in sweep.reports:
        data = report.to_dict()
        points.append({"context": data["context"], "batch_size": data["batch_size"],
                       **{key: data.get(key) for key in _POINT_KEYS},
                       "decode_macs_per_token": report.phases[0].total("macs")})
    return {"axis": sweep.axis, **{key: first.get(key) for key in keep}, "points": points}
