"""`churn-detector run --duration N`: broker, worker, sample feed, live alerts, clean stop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]


def tansu_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "tansu"], capture_output=True, text=True).stdout
    return {int(x) for x in out.split()}


def test_run_shows_alerts_for_leaving_customers_and_stops_cleanly(tmp_path):
    expected = json.loads(
        resources.files("streams").joinpath("data/sample_stream.expected.json").read_text()
    )
    before = tansu_pids()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURN_")}
    env["CHURN_METRICS_PORT"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "streams.cli", "run", "--duration", "100", "--rate", "20"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    heads = re.findall(r"^(\w+)\s+customer_churn_risk\s+customer=(\S+)", proc.stdout, re.M)
    alerted = {c for _, c in heads}
    assert alerted & set(expected["leaving"]), proc.stdout[-3000:]
    assert not alerted & set(expected["happy"])
    assert "why:" in proc.stdout and "do:" in proc.stdout
    assert "stopped worker and broker" in proc.stderr
    pid = int(re.search(r"pid (\d+)", proc.stderr).group(1))
    assert pid not in tansu_pids(), "the embedded broker must not outlive `run`"
    assert tansu_pids() <= before | tansu_pids() - {pid}
