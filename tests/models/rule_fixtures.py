"""Own fixture rows of the English rules, and the check their gated pattern tables share."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_rows(*names: str) -> list[dict[str, Any]]:
    """The rows of fixture files (JSONL under ``fixtures/``), file after file."""
    return [json.loads(line) for name in names
            for line in (FIXTURES / name).read_text("utf-8").splitlines()]


def dev_and_later(stem: str) -> list[Path]:
    """A rule's fixture of development rows and the one written after the rule was frozen."""
    return [FIXTURES / f"{stem}{suffix}.jsonl" for suffix in ("", "_later")]


def fixture_texts(*names: str) -> list[str]:
    return [row["text"] for row in fixture_rows(*names)]


def assert_gates_hide_no_match(monkeypatch: pytest.MonkeyPatch, module: ModuleType, rule: str,
                               texts: Sequence[str], at_least: int,
                               tables: Sequence[str] = (),
                               also: Mapping[str, object] | None = None) -> None:
    """``module.rule`` gives the same answers on ``texts`` (``at_least`` of them found) with
    each pattern table in ``tables`` run without its gates (and the module attributes in
    ``also`` replaced, for word gates of other shapes): a gate only saves time."""
    read: Callable[[str], str | None] = getattr(module, rule)
    gated = [read(t) for t in texts]
    assert sum(g is not None for g in gated) >= at_least
    for table in tables:
        monkeypatch.setattr(module, table, tuple(((), p) for _, p in getattr(module, table)))
    for name, value in (also or {}).items():
        monkeypatch.setattr(module, name, value)
    assert [getattr(module, rule)(t) for t in texts] == gated
