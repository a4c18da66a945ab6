"""Render deploy/k8s as `kubectl apply -k` would: with kubectl when present, else in Python.

The Python render applies what this kustomization uses (resources, namespace, images);
:func:`unsupported` names any other field, so a kustomization that outgrows it fails loudly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "ClusterTriggerAuthentication", "PriorityClass", "StorageClass"}
Doc = dict[str, Any]


def kustomization(path: Path = K8S_DIR) -> Doc:
    data: Doc = yaml.safe_load((path / "kustomization.yaml").read_text())
    return data


def unsupported(kust: Doc) -> set[str]:
    return set(kust) - SUPPORTED


def _set_image(container: Doc, images: list[Doc]) -> None:
    name, sep, tag = container["image"].rpartition(":")
    if not sep or "/" in tag:
        name, tag = container["image"], ""
    for image in images:
        if image["name"] == name:
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
    container["image"] = f"{name}:{tag}" if tag else name


def render_python(path: Path = K8S_DIR) -> list[Doc]:
    kust = kustomization(path)
    assert not unsupported(kust), f"render_python cannot apply {unsupported(kust)}"
    docs: list[Doc] = []
    for resource in kust["resources"]:
        docs += [d for d in yaml.safe_load_all((path / resource).read_text()) if d]
    namespace = kust.get("namespace")
    for doc in docs:
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = namespace
        if namespace and doc["kind"] == "Namespace":
            doc["metadata"]["name"] = namespace
        spec = (doc.get("spec") or {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            _set_image(container, kust.get("images") or [])
    return docs


def render_kubectl(path: Path = K8S_DIR) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    assert kubectl
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def render(path: Path = K8S_DIR) -> list[Doc]:
    """What `kubectl apply -k` sends to the cluster."""
    return render_kubectl(path) if shutil.which("kubectl") else render_python(path)


def keyed(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}
