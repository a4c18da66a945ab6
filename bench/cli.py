"""``churn-detector bench``: run the benchmark, write the JSON (and, if asked, a README table)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bench.results import RESULTS_DIR, render_table, update_readme, write_results
from streams.exitcodes import ExitCode
from streams.progress import progress


@click.command(name="bench")
@click.option("--full", is_flag=True, help="Longer runs (default: quick, under 10 min on 2 cores).")
@click.option("--encoders", default="transformer,static,cascade", show_default=True,
              help="Comma-separated encoders to measure.")
@click.option("--state-customers", type=int, default=100_000, show_default=True,
              help="Customers for the state-size measurement.")
@click.option("--latency-seconds", type=float, default=None,
              help="Seconds of open-loop load per rate (default: 8 quick, 30 full).")
@click.option("--no-scaleout", is_flag=True, help="Skip the 1 vs 2 workers measurement.")
@click.option("--profile-seconds", type=float, default=0.0, show_default=True,
              help="py-spy each detector worker this long during its backlog (0: off).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=RESULTS_DIR, show_default=True, help="Where the JSON results go.")
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the table into this markdown file's Performance section "
                   "(default: no file is touched).")
def bench(full: bool, encoders: str, state_customers: int, latency_seconds: float | None,
          no_scaleout: bool, profile_seconds: float, out_dir: Path, readme: Path | None) -> None:
    """Throughput, latency and memory of the detector, each next to its ceiling, in one run.

    Starts an embedded broker and worker subprocesses (all stopped at the end), writes
    latest.json plus a dated copy into --out and prints the table (and writes it into
    --readme FILE if given). Exit status 4 when a target is missed.
    """
    from bench.harness import BenchConfig, BenchRun

    kw: dict[str, object] = {
        "encoders": tuple(e.strip() for e in encoders.split(",") if e.strip()),
        "state_customers": state_customers,
        "scaleout": not no_scaleout,
        "profile_seconds": profile_seconds,
    }
    if latency_seconds is not None:
        kw["latency_seconds"] = latency_seconds
    config = BenchConfig.full(**kw) if full else BenchConfig.quick(**kw)
    click.echo(f"bench: work folder {config.workdir}", err=True)
    with progress("bench") as bar:
        results = BenchRun(config, echo=bar.phase).run()
    latest, dated = write_results(results, out_dir)
    table = render_table(results)
    click.echo(table)
    click.echo(f"wrote {latest} and {dated}", err=True)
    if readme is not None:
        changed = update_readme(readme, table)
        click.echo(f"{readme}: {'updated' if changed else 'unchanged'}", err=True)
    unmet = [t["target"] for t in results.get("targets", []) if t["met"] is False]
    if unmet:
        click.echo("targets not met: " + json.dumps(unmet), err=True)
        sys.exit(ExitCode.TARGETS_MISSED)
