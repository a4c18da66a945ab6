"""Benchmark results: JSON files and the markdown table in the README's Performance section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_results(results: dict[str, Any], folder: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``latest.json`` and a dated copy; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=True, default=str) + "\n"
    stamp = str(results.get("generated_at", "undated")).replace(":", "").replace("+0000", "Z")
    dated = folder / f"{stamp}.json"
    latest = folder / "latest.json"
    dated.write_text(text)
    latest.write_text(text)
    return latest, dated


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def render_table(res: dict[str, Any]) -> str:
    """Markdown: machine line, per-encoder table, ceilings, targets."""
    m = res.get("machine") or {}
    v = m.get("versions") or {}
    lines = [
        f"Run {res.get('generated_at', '?')} on {m.get('cores', '?')} cores "
        f"({m.get('cpu_model', '?')}), {m.get('memory_gb', '?')} GB, Python "
        f"{m.get('python', '?')}, torch {v.get('torch', '?')}, faust-streaming "
        f"{v.get('faust-streaming', '?')}; load average at start "
        f"{_fmt((m.get('load_avg_start') or [None])[0], 2)} (shared machine: numbers are noisy). "
        f"`make bench` took {_fmt(res.get('duration_s'))} s.",
        "",
        "| encoder | encoder alone ev/s | detector ev/s | / encoder | / pass-through "
        "| naive ev/s | / naive | p50 / p95 / p99 occurred_at-to-alert at 50% (ms) "
        "| p99 at 80% (ms) | p99 consume-to-classified at 50% (ms) | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    encs = sorted(dict.fromkeys([*(res.get("encoders") or {}), *(res.get("pipeline") or {})]))
    for enc in encs:  # sorted: the same table from the run and from the saved latest.json
        e = (res.get("encoders") or {}).get(enc) or {}
        p = (res.get("pipeline") or {}).get(enc) or {}
        lat = p.get("latency_ms") or {}
        detail = p.get("latency") or {}
        at80 = (detail.get("at_80") or {}).get("occurred_to_alert_ms") or {}
        c2c = (detail.get("at_50") or {}).get("consume_to_classified_ms") or {}
        lines.append(
            f"| {enc} | {_fmt(e.get('encode_eps'))} | {_fmt(p.get('eps'))} "
            f"| {_fmt(p.get('ratio_to_encoder'), 2)} | {_fmt(p.get('ratio_to_passthrough'), 2)} "
            f"| {_fmt((res.get('naive_eps') or {}).get(enc))} | {_fmt(p.get('ratio_to_naive'), 1)} "
            f"| {_fmt(lat.get('p50'))} / {_fmt(lat.get('p95'))} / {_fmt(lat.get('p99'))} "
            f"| {_fmt(at80.get('p99'))} | {_fmt(c2c.get('p99'))} | {_fmt(p.get('rss_mb'))} |"
        )
    for enc, why in (res.get("missing") or {}).items():
        lines.append(f"| {enc} | not measured: {why} |||||||||")
    lines.append("")
    so = res.get("scaleout") or {}
    st = res.get("state") or {}
    lines.append(
        f"Bare Faust pass-through (decode + count): {_fmt(res.get('passthrough_eps'))} ev/s. "
        f"State: {_fmt(res.get('state_bytes_per_customer'))} bytes per customer "
        f"(p99 {_fmt(st.get('p99'))}, {_fmt(st.get('customers'))} customers). "
        f"Scale-out ({so.get('encoder', '?')}, {so.get('partitions', '?')} partitions): "
        f"1 worker {_fmt(so.get('workers_1_eps'))} ev/s, 2 workers "
        f"{_fmt(so.get('workers_2_eps'))} ev/s (x{_fmt(so.get('ratio'), 2)}; on 2 cores a second "
        "worker competes for the same CPUs, so this shows overhead more than speed-up)."
    )
    targets = res.get("targets") or []
    if targets:
        lines += ["", "| target | measured | limit | met |", "|---|---:|---:|---|"]
        for t in targets:
            met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
            value = t["value"]
            shown = _fmt(value, 2) if isinstance(value, float) and value < 10 else _fmt(value)
            lines.append(f"| {t['target']} | {shown} | {t['limit']} | {met} |")
    errors = res.get("errors") or {}
    if errors:
        lines += ["", "Failed measurements: " + "; ".join(f"{k}: {v[:160]}"
                                                         for k, v in errors.items())]
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> bool:
    """Put ``table`` between the bench markers (adding a Performance section if missing)."""
    text = readme.read_text("utf-8") if readme.exists() else ""
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text and text.index(START) < text.index(END):
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        new = head + block + tail
    else:
        sep = "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
        new = (text + sep + "## Performance\n\n"
               "Measured by `make bench` (see docs/performance.md).\n\n" + block + "\n")
    if new == text:
        return False
    readme.write_text(new, "utf-8")
    return True
