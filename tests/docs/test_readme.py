"""README stays true: short, settings table current, commands real, numbers from their source."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bench.results import render_table
from streams.cli import main
from streams.metrics import Metrics, add_process_metrics
from streams.settings import Settings
from streams.settings_docs import describe, markdown_table, render_into

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PERFORMANCE = (ROOT / "docs" / "performance.md").read_text()
ALERTS = (ROOT / "docs" / "alerts.md").read_text()
LATEST = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
DOC_TEXTS = {"README.md": README, "docs/performance.md": PERFORMANCE, "docs/alerts.md": ALERTS}
MAX_LINES = 300


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section of a markdown text."""
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_is_short():
    lines = README.count("\n") + (not README.endswith("\n"))
    assert lines < MAX_LINES, f"README has {lines} lines; keep it under {MAX_LINES} (move to docs/)"


def test_every_setting_has_a_description():
    missing = [n for n, f in Settings.model_fields.items() if not describe(n, f)]
    assert not missing, f"document these settings in streams/settings_docs.py: {missing}"


def test_readme_settings_table_is_current():
    assert render_into(README, markdown_table(Settings)) == README, (
        "README's settings table is stale: run `make docs`"
    )


def test_settings_table_rows_have_three_cells():
    for row in markdown_table(Settings).splitlines():
        cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
        assert len(cells) == 3, f"settings row does not render as 3 cells: {row}"


def test_settings_table_shows_no_machine_paths():
    home = str(Path.home())
    table = markdown_table(Settings)
    assert home == "/" or home not in table, "a default shows this machine's home directory"


def test_readme_lists_every_command():
    for name in main.commands:
        assert f"`{name}" in README, f"README lacks the command {name}"


def test_quickstart_is_two_commands():
    quick = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick


def test_help_lists_all_commands():
    out = CliRunner().invoke(main, ["--help"]).output
    for name in main.commands:
        assert name in out


def test_relative_links_exist():
    for doc, text in DOC_TEXTS.items():
        base = ROOT if doc == "README.md" else ROOT / "docs"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", target):
                assert (base / target).exists(), f"{doc} links to {target}, which does not exist"


def test_sample_stream_figures_are_the_bundled_samples():
    lines = (ROOT / "streams" / "data" / "sample_stream.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    customers = {e["customer_id"] for e in events}
    quick = " ".join(section(README, "Quickstart").split())
    assert f"{len(events)} events, {len(customers)} customers" in quick, (
        f"README's Quickstart should say {len(events)} events, {len(customers)} customers")
    assert f"feeding {len(events)} sample events" in quick


def test_models_section_has_the_leads_markers():
    models = section(README, "Models")
    assert models.count("<!-- models:begin -->") == 1 and models.count("<!-- models:end -->") == 1
    assert models.index("<!-- models:begin -->") < models.index("<!-- models:end -->")


# --- commands in code blocks exist -------------------------------------------------------------

def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.M))


def shell_commands(block: str) -> list[list[str]]:
    """Simple commands of a shell code block: comments dropped, split at ``&& || ; |``, leading
    ``VAR=value`` assignments removed. Lines that are not shell (program output) parse too, and
    are ignored by the callers unless they start with ``make`` or ``churn-detector``."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # output, not a command line
            continue
        command: list[str] = []
        for word in [*words, ";"]:
            if word in ("&&", "||", ";", "|"):
                while command and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", command[0]):
                    command.pop(0)
                if command:
                    out.append(command)
                command = []
            else:
                command.append(word)
    return out


def click_command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command that ``churn-detector words...`` runs, and the words after it."""
    cmd: click.Command = main
    rest = list(words)
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in cmd.commands, f"`churn-detector ... {name}`: no such command"
        cmd = cmd.commands[name]
    return cmd, rest


def option_names(cmd: click.Command) -> set[str]:
    names = {"--help", "-h"}
    if cmd is main:
        names |= {"--version", "-V"}
    for param in cmd.params:
        names |= set(param.opts) | set(param.secondary_opts)
    return names


def check_command(words: list[str], targets: set[str], where: str) -> int:
    """Assert a `make` or `churn-detector` command line names real targets, commands and
    options; return how many it named (0: some other program)."""
    program = Path(words[0]).name
    named = 0
    if program == "make":
        for word in words[1:]:
            if "=" not in word and not word.startswith("-"):
                assert word in targets, f"{where}: `make {word}`: no such Makefile target"
                named += 1
    elif program == "churn-detector":
        cmd, rest = click_command(words[1:])
        known = option_names(cmd)
        for word in rest:
            if word.startswith("-"):
                opt = word.split("=", 1)[0]
                assert opt in known, f"{where}: `{' '.join(words)}`: no option {opt}"
        named += 1
    return named


@pytest.mark.parametrize("doc", sorted(DOC_TEXTS))
def test_code_block_commands_exist(doc):
    targets = makefile_targets()
    seen = sum(check_command(words, targets, doc) for block in code_blocks(DOC_TEXTS[doc])
               for words in shell_commands(block))
    if doc == "README.md":
        assert seen >= 3, "the README's code blocks name fewer commands than expected"


def test_inline_commands_exist():
    """`churn-detector X ...` and `make X` written inline in the README name real commands."""
    targets = makefile_targets()
    for snippet in re.findall(r"`([^`\n]+)`", README):
        for words in shell_commands(snippet):
            check_command(words, targets, f"`{snippet}`")


def test_shell_commands_parser_finds_the_command_after_assignments():
    block = "CHURN_X=2 churn-detector replay f.jsonl -o a  # try\nmake run ARGS=\"--rate 2\"\n"
    assert shell_commands(block) == [
        ["churn-detector", "replay", "f.jsonl", "-o", "a"], ["make", "run", "ARGS=--rate 2"]]
    with pytest.raises(AssertionError):
        click_command(["no-such-command"])
    assert {"run", "test", "docs", "bench"} <= makefile_targets()
    assert "no-such-target" not in makefile_targets()
    assert "--allow-remote-broker" in option_names(click_command(["run"])[0])


# --- metric names ------------------------------------------------------------------------------

def exported_metric_names() -> set[str]:
    metrics = Metrics()
    add_process_metrics(metrics.registry)
    names = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
    return names


def test_metric_names_in_readme_are_exported():
    exported = exported_metric_names()
    health = section(README, "Health and metrics")
    named = set(re.findall(r"`((?:churn|process)_[a-z0-9_]+)`", health))
    assert len(named) >= 5
    unknown = named - exported
    assert not unknown, f"README names metrics the worker does not export: {sorted(unknown)}"


#: names shaped like metrics (signal fields such as churn_intent are not)
METRIC_SHAPED = re.compile(r"`(churn_(?:stage_|cx_)[a-z0-9_]+|churn_[a-z0-9_]+_(?:total|seconds|"
                           r"records|bytes))`")


@pytest.mark.parametrize("doc", sorted(DOC_TEXTS))
def test_metric_shaped_names_in_docs_are_exported(doc):
    unknown = set(METRIC_SHAPED.findall(DOC_TEXTS[doc])) - exported_metric_names()
    assert not unknown, f"{doc} names metrics the worker does not export: {sorted(unknown)}"


# --- numbers from bench/results/latest.json ----------------------------------------------------

#: README performance table column -> value in latest.json for an encoder
README_BENCH_COLUMNS = {
    "encoder alone ev/s": lambda enc: LATEST["encoders"][enc]["encode_eps"],
    "detector ev/s": lambda enc: LATEST["pipeline"][enc]["eps"],
    "p99 occurred_at-to-alert at 50% load (ms)":
        lambda enc: LATEST["pipeline"][enc]["latency_ms"]["p99"],
    "peak RSS (MB)": lambda enc: LATEST["pipeline"][enc]["rss_mb"],
}


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table of a markdown text as rows of cells (the separator row dropped)."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_readme_bench_table_matches_latest_results():
    perf = section(README, "Performance")
    tables = [t for t in markdown_tables(perf) if t[0][0] == "encoder"]
    assert len(tables) == 1, "the README's Performance section has one encoder table"
    header, *rows = tables[0]
    assert {r[0] for r in rows} == set(LATEST["pipeline"]), "one row per measured encoder"
    for column in header[1:]:
        assert column in README_BENCH_COLUMNS, f"README bench column {column!r} has no source"
    for row in rows:
        for column, cell in zip(header[1:], row[1:], strict=True):
            expected = README_BENCH_COLUMNS[column](row[0])
            assert number(cell) == float(f"{expected:.0f}"), (
                f"README: {row[0]} {column} is {cell}, latest.json says {expected}")
    stamp = str(LATEST["generated_at"])[:10]
    assert f"({stamp})" in perf, f"the README's bench date is not latest.json's ({stamp})"


def test_every_number_in_readme_performance_prose_is_in_latest_results():
    """Figures written in the Performance prose (not the table) come from latest.json or the
    bench's fixed text mix, never from an older run."""
    perf = section(README, "Performance")
    prose = "\n".join(line for line in perf.splitlines() if not line.startswith("|"))
    prose = re.sub(r"\(\d{4}-\d{2}-\d{2}\)", "", prose)  # the date, checked above
    allowed = {2.0, 60.0, 6000.0, 50.0, 99.0}  # cores; text lengths of bench/generator.py; p99
    allowed.add(float(LATEST["machine"]["cores"]))
    for figure in re.findall(r"\d[\d,]*(?:\.\d+)?", prose):
        assert number(figure) in allowed, f"README Performance prose: {figure} has no source"


def test_performance_doc_table_is_latest_results():
    block = PERFORMANCE.split("<!-- bench:start -->\n", 1)[1].split("\n<!-- bench:end -->", 1)[0]
    assert block == render_table(LATEST), (
        "docs/performance.md is not latest.json: make bench ARGS=\"--readme docs/performance.md\"")


def test_models_table_is_the_committed_evaluation():
    """The README's models table is rendered from docs/eval/eval.json (what `eval` wrote for
    the bundled recipes): no number in it is typed by hand."""
    import json

    from models.evalrun import readme_table

    result = json.loads((ROOT / "docs" / "eval" / "eval.json").read_text("utf-8"))
    models = section(README, "Models")
    inner = models.split("<!-- models:begin -->")[1].split("<!-- models:end -->")[0].strip()
    assert inner == readme_table(result)
