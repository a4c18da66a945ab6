"""README stays true: settings table current, every setting documented, commands listed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from streams.cli import main
from streams.settings import Settings
from streams.settings_docs import describe, markdown_table, render_into

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_has_a_description():
    missing = [n for n, f in Settings.model_fields.items() if not describe(n, f)]
    assert not missing, f"document these settings in streams/settings_docs.py: {missing}"


def test_readme_settings_table_is_current():
    assert render_into(README, markdown_table(Settings)) == README, (
        "README's settings table is stale: run `make docs`"
    )


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
