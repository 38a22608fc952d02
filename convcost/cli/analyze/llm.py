"""``analyze MODEL --decode --context C`` / ``--generate P,N`` / ``--device ID``: LLM
inference as it runs (prefill, decode, KV cache, bit-widths, a named device's bounds).

The mode checks the LLM options (before TensorFlow is imported), resolves the model shape-only
through the loader, analyses (:mod:`convcost.analysis.llm`), renders
(:mod:`convcost.render.decode`) and writes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from convcost.cli.analyze.args import AnalyzeArgs
from convcost.cli.analyze.shared import render_options, request_of
from convcost.cli.app import load_keras
from convcost.cli.output import check_output_dir, emit
from convcost.errors import ConvcostError


@dataclass(frozen=True)
class LlmOptions:
    """The parsed values of the LLM options of ``analyze``."""

    decode: bool = False
    context: int | None = None
    generate: str | None = None
    weight_bits: int | None = None
    kv_bits: int | None = None
    device: str | None = None
    efficiency: float | None = None

    @property
    def requested(self) -> bool:
        """Whether any LLM option was given (then ``analyze`` hands over)."""
        return self.decode or any(v is not None for v in (
            self.context, self.generate, self.weight_bits, self.kv_bits, self.device,
            self.efficiency))


ACCEPTS = frozenset({"input_shape", "no_top", "unsafe", "group_by", "batch_size",
                     "flops", "depth", "dtype", "causal", "symbolic", "decode", "context",
                     "generate", "weight_bits", "kv_bits", "device_id", "efficiency",
                     "sweep", "plot"})
REFUSAL = "{flag} does not combine with --decode/--generate/--device"


def applies(args: AnalyzeArgs) -> bool:
    """Any LLM option, or a ``--sweep`` over ``context=`` or ``batch=``."""
    axis = (args.sweep or "").partition("=")[0].strip()
    return _options(args).requested or axis in ("context", "batch")


def run(args: AnalyzeArgs) -> None:
    """Check, build shape-only, analyse, render and write."""
    from convcost.render import decode as view

    options = _options(args)
    shown = render_options(args)
    if args.sweep is not None or args.plot is not None:
        _run_sweep(args, options, shown)
        return
    request = _request(options, args.batch_size, args.dtype, args.causal, args.fmt)
    request = dataclasses.replace(request, symbolic=args.symbolic)
    asked = request_of(args)
    load_keras()
    from convcost.analysis.llm import analyze_llm as analyse
    from convcost.models import loader

    model = loader.resolve(asked).model
    emit(view.render(analyse(model, request), args.fmt, shown), args.output)


def _options(args: AnalyzeArgs) -> LlmOptions:
    return LlmOptions(args.decode, args.context, args.generate, args.weight_bits, args.kv_bits,
                      args.device_id, args.efficiency)


def _request(options: LlmOptions, batch_size: int | None, dtype: str, causal: bool,
             fmt: str) -> Any:
    """The analysis request, every option checked (one-line errors, nothing imported)."""
    from convcost.analysis import inference
    from convcost.analysis.decode import Precision
    from convcost.analysis.llm import LlmRequest
    from convcost.render.decode import FORMATS

    _check_alone(options, fmt, FORMATS)
    bits = inference.default_bits(dtype)
    precision = Precision(options.weight_bits or bits, options.kv_bits or bits,
                          bits // 8)
    device = inference.resolve_device(options.device) if options.device else None
    efficiency = inference.check_efficiency(1.0 if options.efficiency is None
                                            else options.efficiency)
    if device is not None:
        inference.peak_for(device, dtype)
    return LlmRequest(context=options.context, generate=_generate(options.generate),
                      batch=batch_size or 1, precision=precision, dtype=dtype, device=device,
                      efficiency=efficiency, attention="causal" if causal else "executed")


def _check_alone(options: LlmOptions, fmt: str, formats: tuple[str, ...]) -> None:
    if fmt not in formats:
        raise ConvcostError(f"--decode/--generate print {', '.join(formats)}. "
                            f"Received: --format {fmt}.")
    if options.decode != (options.context is not None):
        raise ConvcostError(f"--decode and --context C go together. Received: --decode "
                            f"{options.decode}, --context {options.context}.")
    if options.decode == (options.generate is not None):
        raise ConvcostError("Give --decode --context C, or --generate P,N (one of them). "
                            f"Received: --decode {options.decode}, --generate "
                            f"{options.generate}.")
    if options.context is not None and options.context < 0:
        raise ConvcostError(f"--context must be 0 or more. Received: {options.context}.")


def _generate(text: str | None) -> tuple[int, int] | None:
    """``"P,N"`` as two positive integers."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isascii() and p.strip().isdigit() and int(p) > 0
                                  for p in parts):
        raise ConvcostError(f"--generate takes P,N: prompt tokens and new tokens, both "
                            f"positive integers. Received: {text!r}.")
    return int(parts[0]), int(parts[1])


def _run_sweep(args: AnalyzeArgs, options: LlmOptions, shown: Any) -> None:
    """``--sweep context=...`` / ``batch=...``: a decode step on a device, per value."""
    from convcost.render import llm_sweep as view

    axis, values = _check_sweep(args, options)
    if axis == "context" and options.context is None:
        options = dataclasses.replace(options, context=values[0])
    request = _request(options, args.batch_size, args.dtype, args.causal, args.fmt)
    asked = request_of(args)
    load_keras()
    from convcost.analysis.llm import sweep_llm
    from convcost.models import loader

    data = sweep_llm(loader.resolve(asked).model, request, axis, values)
    if args.plot is not None:
        from convcost.render.plots import llm_sweep_plot

        llm_sweep_plot(data.to_dict(), args.plot)
    emit(view.render(data, args.fmt, shown), args.output)


def _check_sweep(args: AnalyzeArgs, options: LlmOptions) -> tuple[str, list[int]]:
    """The axis and values of ``--sweep``; one-line errors for what cannot be swept."""
    if args.sweep is None:
        raise ConvcostError(f"--plot draws a sweep; add --sweep context=... or batch=... "
                            f"Received: --plot {str(args.plot)!r} alone.")
    axis, values = parse_sweep(args.sweep)
    if not options.decode or options.device is None:
        raise ConvcostError(f"--sweep {axis}= sweeps a decode step on a device; add --decode"
                            f"{' --context C' if axis == 'batch' else ''} --device ID. "
                            f"Received: --sweep {args.sweep}.")
    if axis == "batch" and args.batch_size is not None:
        raise ConvcostError(f"--sweep batch= sets the batch size; drop --batch-size. "
                            f"Received: --batch-size {args.batch_size}.")
    if args.symbolic:
        raise ConvcostError("--sweep gives numbers per value; --symbolic gives the formula. "
                            "Received: --symbolic with --sweep.")
    if args.plot is not None:
        try:
            check_output_dir(args.plot)
        except ConvcostError as error:
            raise ConvcostError(str(error).replace("--output", "--plot", 1)) from None
    return axis, values


def parse_sweep(text: str) -> tuple[str, list[int]]:
    """``context=C,C,...`` (C >= 0) or ``batch=B,B,...`` (B >= 1) as the axis and values."""
    axis, _, listed = text.partition("=")
    axis = axis.strip()
    if axis not in ("context", "batch"):
        raise ConvcostError(f"An LLM sweep runs over context=C,C,... or batch=B,B,... "
                            f"Received: --sweep {text!r}.")
    parts = [part.strip() for part in listed.split(",")]
    least = 0 if axis == "context" else 1
    if not all(part.isascii() and part.isdigit() and int(part) >= least for part in parts):
        raise ConvcostError(f"--sweep {axis}= takes integers >= {least}, comma-separated. "
                            f"Received: --sweep {text!r}.")
    return axis, [int(part) for part in parts]
