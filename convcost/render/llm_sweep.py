"""``analyze --decode --device ID --sweep context=... / batch=...``: one row per value (time
per output token, tokens/s, KV cache, memory, fits, MACs per token), as a table, Markdown or
JSON."""

from __future__ import annotations

import json
from typing import Any

from convcost.analysis.llm import LlmSweep
from convcost.render.decode import seconds
from convcost.render.tables import Grid, check_choice, fitted_table, pipe_table, print_to_string
from convcost.render.units import human

FORMATS = ("table", "markdown", "json")
HEADERS = ["context", "batch", "time/token", "tokens/s", "KV cache", "memory", "fits",
           "max batch", "MACs/token"]


def render(data: LlmSweep, fmt: str, opts: Any = None) -> str:
    """``data`` as ``fmt`` (one of :data:`FORMATS`); ``opts`` may carry ``width`` and
    ``color``."""
    check_choice("format", fmt, FORMATS)
    payload = data.to_dict()
    if fmt == "json":
        return json.dumps(payload, indent=2) + "\n"
    lines = header_lines(payload)
    rows = [_cells(point) for point in payload["points"]]
    numeric = [True] * len(HEADERS)
    if fmt == "markdown":
        body = pipe_table(HEADERS, rows, numeric)
        return "\n".join([*(f"- {line}" for line in lines), "", *body]) + "\n"
    width = getattr(opts, "width", None)
    table = fitted_table([Grid(HEADERS, numeric, rows, [])], width,
                         title=f"{payload['model']}: decode across {payload['axis']}",
                         title_justify="left")
    text = print_to_string(table, width=width, color=bool(getattr(opts, "color", False)))
    return "\n".join(lines) + "\n\n" + text


def header_lines(d: dict[str, Any]) -> list[str]:
    """What was swept, on which device, at which bits."""
    kind = "bounds" if d["bound"] else f"estimates at efficiency {d['efficiency']}"
    device = d["device"]
    return [f"{d['model']}: one decode step per {d['axis']}, weights {d['weight_bits']}-bit, "
            f"KV {d['kv_bits']}-bit ({human(d['kv_bytes_per_token'], 'B')} per token), "
            f"activations {d['dtype']}",
            f"on {device['name']} ({human(device['memory_bytes'], 'B')}); times are roofline "
            f"{kind}; MACs/token per sequence"]


def _cells(p: dict[str, Any]) -> list[str]:
    return [f"{p['context']:,}", f"{p['batch_size']:,}", seconds(p["time_per_output_token_s"]),
            f"{p['tokens_per_s']:,.1f}", human(p["kv_cache_bytes"], "B"),
            human(p["memory_bytes"], "B"), "yes" if p["fits"] else "NO",
            f"{p['max_batch_size']:,}", human(p["decode_macs_per_token"])]
