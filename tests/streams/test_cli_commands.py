"""The command line as a script sees it: --version, exit statuses, refusals, progress.

The long commands' model and benchmark work is replaced by fakes here (they take minutes);
what is checked is the command around it: what it refuses, what it writes, how it exits.
"""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import bench.cli
import streams.cli_models as cli_models
from streams.cli import main, remote_brokers
from streams.exitcodes import ExitCode
from streams.progress import progress

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"event_id": "e1", "customer_id": "C-1", "channel": "email",
        "occurred_at": "2026-11-10T09:00:00Z", "text": "Please cancel my subscription"}


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"CHURN_ENCODER": "hashing", **env})


# -- --version and --help ----------------------------------------------------------------------


def test_version_prints_the_installed_package_version():
    for flag in ("--version", "-V"):
        result = run(flag)
        assert result.exit_code == 0
        assert result.output.strip() == f"churn-detector {version('churn-signal-detector')}"


def test_help_documents_every_exit_status():
    out = run("--help").output
    for code in ExitCode:
        assert f"  {int(code)}  " in out, code
    assert "rejected" in out and "target" in out


# -- score / replay: rejected lines ------------------------------------------------------------


@pytest.mark.parametrize("command", ["score", "replay"])
def test_rejected_lines_give_their_own_exit_status(tmp_path, command):
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps(GOOD) + "\n")
    dirty = tmp_path / "dirty.jsonl"
    dirty.write_text(json.dumps(GOOD) + "\n{not json\n")
    ok = run(command, str(clean), "-o", str(tmp_path / "a.jsonl"))
    assert ok.exit_code == ExitCode.OK, ok.output
    bad = run(command, str(dirty), "-o", str(tmp_path / "b.jsonl"))
    assert bad.exit_code == ExitCode.LINES_REJECTED == 3, bad.output
    assert "rejected 1 lines" in bad.output
    # the valid line was still processed
    assert (tmp_path / "b.jsonl").read_text() == (tmp_path / "a.jsonl").read_text()


# -- bench: targets and README -----------------------------------------------------------------


class FakeBenchRun:
    targets: list[dict[str, Any]] = []

    def __init__(self, config: Any, echo: Any) -> None:
        self.echo = echo

    def run(self) -> dict[str, Any]:
        self.echo("fake phase ...")
        return {"targets": self.targets}


@pytest.fixture
def fake_bench(monkeypatch):
    import bench.harness

    monkeypatch.setattr(bench.harness, "BenchRun", FakeBenchRun)
    monkeypatch.setattr(bench.cli, "render_table", lambda res: "| table |")
    return FakeBenchRun


def test_bench_exits_4_when_a_target_is_missed_and_never_touches_the_package_readme(
        tmp_path, fake_bench):
    readme = ROOT / "README.md"
    before = readme.read_bytes()
    fake_bench.targets = [{"target": "a", "met": True}, {"target": "b", "met": False}]
    result = run("bench", "--out", str(tmp_path / "res"))
    assert result.exit_code == ExitCode.TARGETS_MISSED == 4, result.output
    assert "targets not met" in result.output and '"b"' in result.output
    assert (tmp_path / "res" / "latest.json").is_file()
    fake_bench.targets = [{"target": "a", "met": True}, {"target": "c", "met": None}]
    assert run("bench", "--out", str(tmp_path / "res")).exit_code == ExitCode.OK
    assert readme.read_bytes() == before


def test_bench_writes_a_readme_table_only_into_the_file_it_is_given(tmp_path, fake_bench):
    fake_bench.targets = []
    mine = tmp_path / "NOTES.md"
    result = run("bench", "--out", str(tmp_path / "res"), "--readme", str(mine))
    assert result.exit_code == 0, result.output
    assert "| table |" in mine.read_text()


# -- train: never into the installed package by accident ---------------------------------------


@pytest.fixture
def fake_train(monkeypatch):
    import models.evalrun
    import models.train

    calls: list[Path] = []

    def train_bundled(root: Any, out: Path, cache: Any, kinds: Any, **_: Any
                      ) -> dict[str, Any]:
        calls.append(out)
        return {k: {"version": "fake"} for k in kinds}

    monkeypatch.setattr(models.train, "train_bundled", train_bundled)
    monkeypatch.setattr(cli_models, "_data_root", lambda path: None)
    return calls


def test_train_without_out_refuses_to_overwrite_the_package_artifacts(fake_train):
    from models import bundled_artifacts

    result = run("train")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--into-package" in result.output and "-o DIR" in result.output
    assert fake_train == []
    assert run("train", "--into-package").exit_code == 0
    assert fake_train == [bundled_artifacts()]


def test_train_with_out_writes_there(tmp_path, fake_train):
    result = run("train", "-o", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert fake_train == [tmp_path / "m"]


# -- run: never feeds a remote cluster by accident ---------------------------------------------


def test_run_refuses_a_broker_that_is_not_on_this_machine():
    result = run("run", "--duration", "1", CHURN_KAFKA_BROKER="kafka.prod.example:9092")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "kafka.prod.example:9092" in result.output
    assert "--allow-remote-broker" in result.output


def test_only_loopback_brokers_count_as_local():
    assert remote_brokers("") == []
    assert remote_brokers("localhost:9092,127.0.0.1:9093,[::1]:9094") == []
    assert remote_brokers("localhost:9092,kafka:9092") == ["kafka:9092"]
    assert remote_brokers("10.0.0.5:9092") == ["10.0.0.5:9092"]


# -- --public-data -----------------------------------------------------------------------------


def test_missing_default_public_data_says_where_it_looked_and_what_to_give(tmp_path,
                                                                           monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_models._data_root(None) is None
    err = capsys.readouterr().err
    assert str((tmp_path / "../shared/data").resolve()) in err
    assert "--public-data DIR" in err and "banking77/" in err and "seed set" in err
    with pytest.raises(click.ClickException, match="not found"):
        cli_models._data_root(tmp_path / "nowhere")
    (tmp_path / "sets" / "banking77").mkdir(parents=True)
    with pytest.raises(click.ClickException, match="lacks bitext/, clinc150/"):
        cli_models._data_root(tmp_path / "sets")


def test_public_data_default_is_in_the_help():
    for command in ("train", "eval"):
        text = " ".join(run(command, "--help").output.split())
        assert "Default: ../shared/data, relative to the current directory" in text


# -- progress ----------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_the_command_and_its_phase_on_a_terminal_only():
    tty = Tty()
    with progress("train", stream=tty) as bar:
        assert bar.shown
        bar.phase("training heads")
    out = tty.getvalue()
    assert "train:" in out and "elapsed" in out and "training heads" in out
    plain = io.StringIO()
    with progress("train", stream=plain) as bar:
        assert not bar.shown
        bar.phase("training heads")
    assert plain.getvalue() == "training heads\n"


@pytest.mark.parametrize("command", [["train", "-o", "m"], ["eval"], ["build-static"],
                                     ["bench"]])
def test_every_long_command_runs_under_a_progress_line(command, monkeypatch, tmp_path,
                                                       fake_train, fake_bench):
    import models.static
    import models.train

    seen: list[str] = []

    @contextmanager
    def recording(desc: str, **kw: Any):
        seen.append(desc)
        with progress(desc, **kw) as bar:
            yield bar

    monkeypatch.setattr(cli_models, "progress", recording)
    monkeypatch.setattr(bench.cli, "progress", recording)
    monkeypatch.setattr(models.evalrun, "run_eval",
                        lambda *a, **k: {"domains": {}, "macro": {}})
    monkeypatch.setattr(models.static, "build_static_model", lambda *a, **k: tmp_path)
    fake_bench.targets = []
    monkeypatch.chdir(tmp_path)
    result = run(*command, *(["--out", str(tmp_path / "r")] if command == ["bench"] else []))
    assert result.exit_code == 0, result.output
    assert seen == [command[0]]


def _blas_threads() -> list[int]:
    import numpy  # noqa: F401 - loads the BLAS library threadpoolctl looks for
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_serving_caps_blas_threads_as_configured():
    """The classifier's process runs numpy's BLAS on CHURN_BLAS_THREADS threads (0: as it was)."""
    from threadpoolctl import threadpool_limits

    from streams.cli import _classifier
    from streams.settings import Settings

    assert _blas_threads(), "numpy's BLAS is not visible to threadpoolctl"
    with threadpool_limits(limits=2, user_api="blas"):  # restored afterwards
        _classifier(Settings(encoder="hashing", blas_threads=0))
        assert set(_blas_threads()) == {2}
        _classifier(Settings(encoder="hashing", blas_threads=1))
        assert set(_blas_threads()) == {1}


def test_a_fresh_process_caps_the_blas_threads_the_classifier_loads():
    """In a worker's own process numpy is first loaded by the classifier's build: the cap
    must still reach it (a cap set before the load reaches nothing)."""
    import subprocess
    import sys

    code = ("import sys; from streams.cli import _classifier; from streams.settings import "
            "Settings; assert 'numpy' not in sys.modules; "
            "_classifier(Settings(encoder='hashing', blas_threads=1)); "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({p['num_threads'] for p in threadpool_info() "
            "if p['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[1]", out.stdout + out.stderr


def test_the_sample_is_moved_by_whole_hours_so_every_run_raises_the_same_alerts():
    """`run` moves the sample to now. Moved to the minute, the stage windows (whole quarter
    hours) fell differently with the minute it was started, and the same sample raised a
    cx_gap alert or not (41 or 42 alerts); moved by whole hours they fall the same way."""
    from datetime import UTC, datetime, timedelta

    from detector.schema import parse_event
    from streams.kafka import shift_to_now

    lines = (ROOT / "streams" / "data" / "sample_stream.jsonl").read_text("utf-8").splitlines()
    events = [parse_event(line, now=datetime(2030, 1, 1, tzinfo=UTC)) for line in lines if line]
    last = max(e.occurred_at for e in events)
    for minutes in (0, 7, 29, 58, 5 * 60 + 13, 22 * 60 + 50):
        now = datetime(2026, 12, 6, 13, 0, tzinfo=UTC) + timedelta(minutes=minutes)
        moved = shift_to_now(events, now)
        at = [datetime.fromisoformat(b["occurred_at"]) for b in moved]
        shift = at[0] - events[0].occurred_at
        assert all(a - e.occurred_at == shift for a, e in zip(at, events, strict=True))
        assert shift % timedelta(hours=1) == timedelta(0)
        assert now - timedelta(hours=1) < last + shift <= now


def test_the_companys_own_names_reach_the_classifier(monkeypatch):
    """``CHURN_COMPANY_NAMES`` is read comma-separated and given to the rules, which then
    read a switch to another named company as leaving, and one to the company as joining."""
    from streams.cli import _classifier
    from streams.settings import Settings

    monkeypatch.setenv("CHURN_COMPANY_NAMES", "Acme Bank, @AcmeBank,")
    settings = Settings(encoder="hashing")
    assert settings.company_names == ("Acme Bank", "@AcmeBank")
    clf = _classifier(settings)
    assert clf.config.own_names == {"acme", "acmebank"}
    assert _classifier(Settings(encoder="hashing", company_names=())).config.own_names == set()
