"""``analyze --decode / --generate`` output: a header (memory, KV cache, the device's bounds),
the layers of a decode step or the totals per phase, as a table, Markdown or JSON."""

from __future__ import annotations

import json
from typing import Any

from convcost.analysis.llm import LlmReport
from convcost.render.tables import Grid, check_choice, fitted_table, pipe_table, print_to_string
from convcost.render.units import human

FORMATS = ("table", "markdown", "json")
LAYER_HEADERS = ["layer", "type", "MACs", "weights read", "KV read", "KV written"]


def render(data: LlmReport, fmt: str, opts: Any = None) -> str:
    """``data`` as ``fmt`` (one of :data:`FORMATS`); ``opts`` may carry ``width`` and
    ``color`` (a :class:`convcost.render.RenderOptions`)."""
    check_choice("format", fmt, FORMATS)
    payload = data.to_dict()
    if fmt == "json":
        return json.dumps(payload, indent=2) + "\n"
    lines = header_lines(payload)
    if fmt == "markdown":
        body = pipe_table(*_grid_parts(payload))
        return "\n".join([*(f"- {line}" for line in lines), "", *body]) + "\n"
    headers, rows, numeric = _grid_parts(payload)
    grid = Grid(headers, numeric, rows, [], wrap=(0,))
    width = getattr(opts, "width", None)
    table = fitted_table([grid], width, title=f"{payload['model']}: {payload['mode']}",
                         title_justify="left")
    text = print_to_string(table, width=width, color=bool(getattr(opts, "color", False)))
    return "\n".join(lines) + "\n\n" + text


def header_lines(d: dict[str, Any]) -> list[str]:
    """The summary lines: what was asked, memory, and (with a device) the bounds."""
    ask = (f"decode one token with {d['context']:,} cached" if d["mode"] == "decode" else
           f"prefill {d['prompt_tokens']:,} tokens, then decode {d['new_tokens']:,}")
    lines = [f"{d['model']}: {ask}, batch {d['batch_size']}, weights {d['weight_bits']}-bit, "
             f"KV {d['kv_bits']}-bit, activations {d['dtype']}",
             f"weights {human(d['weight_bytes'], 'B')} ({d['params']:,} params); KV cache "
             f"{human(d['kv_bytes_per_token'], 'B')} per token, {human(d['kv_cache_bytes'], 'B')}"
             f" for {d['cache_tokens']:,} tokens x {d['batch_size']}; activations "
             f"{human(d['activation_bytes'], 'B')}; total {human(d['memory_bytes'], 'B')}"]
    if "device" in d:
        lines += _device_lines(d)
    if "formulas" in d:
        lines += _formula_lines(d["formulas"])
    return lines + [f"note: {note}" for note in d["notes"]]


def _formula_lines(formulas: dict[str, Any]) -> list[str]:
    """``--symbolic``: each field of each phase as a polynomial of C, P, N."""
    lines = [f"formulas ({formulas['unit']}; " + ", ".join(
        f"{k} = {v}" for k, v in formulas["variables"].items()) + "):"]
    for phase, of in (("decode", "C"), ("prefill", "P"), ("generate", "P, N")):
        lines += [f"  {phase}({of}) {name} = {expr}" for name, expr in formulas[phase].items()]
    return lines


def _device_lines(d: dict[str, Any]) -> list[str]:
    device = d["device"]
    kind = "bound" if d["bound"] else f"estimate at efficiency {d['efficiency']}"
    fits = "fits" if d["fits"] else "does NOT fit"
    ttft = d["time_to_first_token_s"]
    first = f"time to first token {seconds(ttft)}, " if ttft is not None else ""
    return [f"on {device['name']} ({human(device['memory_bytes'], 'B')}): {fits}; largest "
            f"batch that fits at {d['cache_tokens']:,} tokens: {d['max_batch_size']:,}",
            f"{kind}: {first}time per output token {seconds(d['time_per_output_token_s'])}, "
            f"{d['tokens_per_s']:,.1f} tokens/s"]


def seconds(value: float) -> str:
    return f"{value * 1e3:.3f} ms" if value < 1 else f"{value:.3f} s"


def _grid_parts(d: dict[str, Any]) -> tuple[list[str], list[list[str]], list[bool]]:
    """Layers of a single decode step; totals per phase for --generate."""
    numeric = [False, False, True, True, True, True]
    if d["mode"] == "decode":
        rows = [_cells(r["path"], r["type"], r) for r in d["phases"][0]["layers"]]
        rows.append(_cells("total", "", d["totals"]))
        return LAYER_HEADERS, rows, numeric
    rows = [_cells(p["name"], f"{p['steps']} step(s), {p['new_tokens']} new tokens", p)
            for p in d["phases"]]
    rows.append(_cells("total", "", d["totals"]))
    return ["phase", "what", *LAYER_HEADERS[2:]], rows, numeric


def _cells(name: str, kind: str, r: dict[str, Any]) -> list[str]:
    return [name, kind, human(r["macs"]), human(r["weight_bytes_read"], "B"),
            human(r["kv_bytes_read"], "B"), human(r["kv_bytes_written"], "B")]
