"""Sampling profiles of a running worker with py-spy (a dev dependency)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def pyspy_bin() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def summarise_collapsed(lines: list[str], top: int = 15) -> dict[str, Any]:
    """Own-time and inclusive-time shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return {"samples": 0, "own": [], "inclusive": []}

    def share(c: Counter[str]) -> list[list[Any]]:
        return [[f, round(100 * k / total, 1)] for f, k in c.most_common(top)]

    return {"samples": total, "own": share(own), "inclusive": share(incl)}


def pyspy_top(pid: int, seconds: float, out: Path, native: bool = False) -> dict[str, Any]:
    """Record ``pid`` for ``seconds`` (all threads, idle excluded); summarise the stacks."""
    exe = pyspy_bin()
    if exe is None:
        return {"error": "py-spy not installed (pip install py-spy)"}
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(max(1, seconds))),
           "--format", "raw", "--output", str(out), "--rate", "50", "--nonblocking", "--threads"]
    if native:
        cmd.append("--native")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if proc.returncode != 0 or not out.exists():
        return {"error": (proc.stderr or proc.stdout)[-400:]}
    summary = summarise_collapsed(out.read_text().splitlines())
    summary["file"] = str(out)
    return summary
