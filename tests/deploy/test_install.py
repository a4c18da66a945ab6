"""The install a stock machine gets: CPU-only torch, pinned versions, declared dependencies.

`make check-install` resolves the default install with this machine's pip configuration off and
checks the report with tests/deploy/install_report.py. tests/deploy/data holds two real reports
(pip 26.3, 2026-12-05): the project with constraints.txt from PyPI (+ the CPU torch wheel), and
PyPI's own torch==2.13.0, which brings the CUDA libraries the check must reject.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.install_report import main, problems, resolved

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
FIRST_PARTY = {"detector", "models", "streams", "bench"}


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def report(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


# -- the dry-run check -------------------------------------------------------------------------


def test_the_recorded_stock_resolution_is_cpu_only():
    cpu = report("install-report-cpu.json")
    assert problems(cpu) == []
    packages = resolved(cpu)
    assert packages["torch"].endswith("+cpu")
    assert packages["churn-signal-detector"] == pyproject()["project"]["version"]
    # everything but torch and the project itself came from PyPI
    urls = {i["metadata"]["name"]: i["download_info"]["url"] for i in cpu["install"]}
    others = {n: u for n, u in urls.items() if n not in ("torch", "churn-signal-detector")}
    assert all(u.startswith("https://files.pythonhosted.org/") for u in others.values())


def test_the_check_rejects_what_pypi_gives_for_torch(capsys):
    pypi = report("install-report-pypi-torch.json")
    found = " | ".join(problems(pypi))
    assert "nvidia-cublas" in found and "triton" in found
    assert "torch==2.13.0 is not the CPU build" in found
    assert main([str(DATA / "install-report-pypi-torch.json")]) == 1
    assert main([str(DATA / "install-report-cpu.json")]) == 0
    assert "CPU-only" in capsys.readouterr().out


def test_a_fresh_check_install_report_is_cpu_only_too():
    fresh = ROOT / "build" / "install-report.json"
    if not fresh.is_file():
        pytest.skip("no build/install-report.json: run `make check-install`")
    assert problems(json.loads(fresh.read_text())) == []


# -- pins and declarations ---------------------------------------------------------------------


def _declared() -> list[Requirement]:
    project = pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(r) for r in reqs]


def test_constraints_pin_every_declared_dependency_within_its_range():
    pins = constraints()
    assert pins["torch"].endswith("+cpu"), "torch must be pinned to the CPU build"
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]} outside {req}")
    assert "churn-signal-detector" not in pins


def test_the_recorded_resolution_is_at_the_constraints_versions():
    """The CPU-only proof is about today's pins (re-run `make check-install` when they change
    and copy its report over tests/deploy/data/install-report-cpu.json, keeping only
    metadata.name, metadata.version and download_info.url)."""
    pins = constraints()
    got = {canonicalize_name(n): v for n, v in resolved(report("install-report-cpu.json")).items()}
    for name, version in pins.items():
        assert got.get(name) == version, f"{name}: report {got.get(name)}, constraints {version}"


def _imported_modules() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in FIRST_PARTY and top not in sys.stdlib_module_names:
                        out.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return out


def test_every_imported_package_is_a_declared_dependency():
    declared = {canonicalize_name(r.name) for r in
                (Requirement(d) for d in pyproject()["project"]["dependencies"])}
    dists = packages_distributions()
    undeclared = {}
    for module, where in _imported_modules().items():
        owners = {canonicalize_name(d) for d in dists.get(module, [module])}
        if not owners & declared:
            undeclared[module] = sorted(where)[:2]
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"
    assert {"scipy", "safetensors"} <= declared


# -- Makefile and Dockerfile -------------------------------------------------------------------


def makefile_setup_commands() -> list[list[str]]:
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert recipe, "no $(STAMP) rule in the Makefile"
    variables = dict(re.findall(r"^(\w+)\s*\??=\s*(.*)$", text, flags=re.M))
    commands = []
    for line in recipe.group(1).splitlines():
        line = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), line)
        commands.append(shlex.split(line.strip()))
    return commands


def dockerfile_pip_installs() -> list[list[str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        if line.strip().startswith("RUN "):
            for cmd in line.strip()[4:].split("&&"):
                if cmd.strip().startswith("pip install"):
                    out.append(["pip", *shlex.split(cmd)[1:]])
    return out


def _installs(commands: list[list[str]]) -> list[list[str]]:
    out = []
    for cmd in commands:
        if "install" in cmd and "pip" in " ".join(cmd[:3]):
            args = cmd[cmd.index("install") + 1:]
            if "--upgrade" not in args:
                out.append(args)
    return out


@pytest.mark.parametrize("where", ["Makefile", "Dockerfile"])
def test_torch_alone_comes_from_the_cpu_index_then_the_project_with_constraints(where):
    installs = _installs(makefile_setup_commands() if where == "Makefile"
                         else dockerfile_pip_installs())
    assert len(installs) == 2, installs
    torch, project = installs
    assert torch[torch.index("--index-url") + 1] == CPU_INDEX
    assert "--no-deps" in torch, "only torch from the CPU index; its dependencies from PyPI"
    assert torch[torch.index("-c") + 1] == "constraints.txt" and torch[-1] == "torch"
    assert project[project.index("-c") + 1] == "constraints.txt"
    assert "--index-url" not in project and "--extra-index-url" not in project
    assert project[-1] in (".", ".[dev]")


def test_the_makefile_checks_the_install_the_way_the_issue_asks():
    text = (ROOT / "Makefile").read_text()
    rule = re.search(r"^check-install:.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert rule
    body = rule.group(1)
    assert "PIP_CONFIG_FILE=/dev/null" in body and "--isolated" in body
    assert "--dry-run" in body and "--report" in body and "-c constraints.txt" in body
    assert "tests.deploy.install_report" in body


def test_the_project_is_apache_2_licensed_with_the_license_text():
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (ROOT / "Dockerfile").read_text()
