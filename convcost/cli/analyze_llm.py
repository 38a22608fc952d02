"""``analyze MODEL --decode --context C`` / ``--generate P,N`` / ``--device ID``: LLM
inference as it runs (prefill, decode, KV cache, bit-widths, a named device's bounds).

Not a command of its own: ``analyze`` declares the options below and hands their parsed
values to :func:`analyze_llm`, which checks them (before TensorFlow is imported), builds the
model shape-only, analyses (:mod:`convcost.analysis.llm`), renders
(:mod:`convcost.render.decode`) and writes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import load_keras
from convcost.cli.output import emit
from convcost.errors import ConvcostError

Decode = Annotated[bool, typer.Option(
    "--decode", help="LLM: the cost of generating one token with --context C tokens cached: "
                     "per layer MACs, weights read, KV cache read and written.")]
Context = Annotated[int | None, typer.Option(
    help="With --decode: tokens already in the KV cache.", show_default=False, metavar="C")]
Generate = Annotated[str | None, typer.Option(
    help="LLM: prefill P prompt tokens, then decode N tokens: totals per phase.",
    show_default=False, metavar="P,N")]
WeightBits = Annotated[int | None, typer.Option(
    help="LLM: bits per weight, 32, 16, 8 or 4 (default: --dtype's).", show_default=False,
    metavar="BITS")]
KvBits = Annotated[int | None, typer.Option(
    help="LLM: bits per KV-cache element, 32, 16, 8 or 4 (default: --dtype's).",
    show_default=False, metavar="BITS")]
Device = Annotated[str | None, typer.Option(
    "--device", help="LLM: a named device ('convcost devices': h100_sxm, a100_80gb, l4, "
                     "this_machine, ...) or a JSON file: time to first token, time per "
                     "output token, tokens/s, fit.",
    show_default=False, metavar="ID|FILE")]
Efficiency = Annotated[float | None, typer.Option(
    help="LLM, with --device: fraction of peak and bandwidth reached (default 1: the bound).",
    show_default=False, metavar="E")]


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


def analyze_llm(options: LlmOptions, source: Any, *, fmt: str, batch_size: int | None,
                dtype: str, causal: bool, symbolic: bool, render_options: Any,
                output: Path | None, others: dict[str, Any]) -> None:
    """Check, build shape-only, analyse, render and write. ``others``: analyze's options
    that do not combine with these (name -> value, None when not given)."""
    from convcost.render import decode as view

    request = _request(options, batch_size, dtype, causal, fmt, others)
    request = dataclasses.replace(request, symbolic=symbolic)
    load_keras()
    from convcost.analysis.llm import analyze_llm as analyse
    from convcost.count.scope import shape_only
    from convcost.models.loader import obtain

    with shape_only():
        model = obtain(source.spec)
    emit(view.render(analyse(model, request), fmt, render_options), output)


def _request(options: LlmOptions, batch_size: int | None, dtype: str, causal: bool, fmt: str,
             others: dict[str, Any]) -> Any:
    """The analysis request, every option checked (one-line errors, nothing imported)."""
    from convcost.analysis import inference
    from convcost.analysis.decode import Precision
    from convcost.analysis.llm import LlmRequest
    from convcost.render.decode import FORMATS

    _check_alone(options, fmt, FORMATS, others)
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


def _check_alone(options: LlmOptions, fmt: str, formats: tuple[str, ...],
                 others: dict[str, Any]) -> None:
    given = [name for name, value in others.items() if value not in (None, False)]
    if given:
        raise ConvcostError(f"{given[0]} does not combine with --decode/--generate/--device. "
                            f"Received: {given[0]}.")
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
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ConvcostError(f"--generate takes P,N: prompt tokens and new tokens, both "
                            f"positive integers. Received: {text!r}.")
    return int(parts[0]), int(parts[1])
