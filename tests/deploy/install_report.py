"""Check a `pip install --dry-run --report` of the default install: no CUDA comes with it.

    python -m tests.deploy.install_report build/install-report.json    (`make check-install`)

A resolution is rejected when it holds any ``nvidia-*`` (CUDA runtime) package, any
``triton`` (the GPU compiler PyPI's CUDA torch depends on), or a torch that is not the CPU
build (a ``+cpu`` local version).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GPU_PACKAGES = ("nvidia-", "triton")


def resolved(report: dict[str, Any]) -> dict[str, str]:
    """``{package name: version}`` of every package the report would install."""
    out = {}
    for item in report["install"]:
        meta = item["metadata"]
        out[meta["name"].lower().replace("_", "-")] = meta["version"]
    return out


def problems(report: dict[str, Any]) -> list[str]:
    """Why this resolution is not a CPU-only install (empty: it is)."""
    packages = resolved(report)
    found = [f"{name}=={version} is a CUDA/GPU package"
             for name, version in sorted(packages.items()) if name.startswith(GPU_PACKAGES)]
    torch = packages.get("torch")
    if torch is None:
        found.append("torch is not in the resolution (was the report made for the project?)")
    elif not torch.endswith("+cpu"):
        found.append(f"torch=={torch} is not the CPU build (+cpu)")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    report = json.loads(Path(args[0]).read_text())
    packages = resolved(report)
    bad = problems(report)
    for line in bad:
        print(f"check-install: {line}", file=sys.stderr)
    if bad:
        return 1
    print(f"check-install: {len(packages)} packages, torch {packages['torch']}, "
          "no nvidia-* or triton: CPU-only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
