"""Compose and Docker files refer only to things that exist (no Docker needed); Kubernetes:
test_k8s.py."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
SETTINGS_VARS = {"CHURN_" + name.upper() for name in Settings.model_fields}
DEFAULTS = Settings()
#: Variables of third-party images we configure (Kafka, Grafana, our topic script, the echo).
FOREIGN_VAR = re.compile(
    r"^(KAFKA_[A-Z_]+|CLUSTER_ID|GF_[A-Z_]+|TOPIC_PARTITIONS|TOPIC_REPLICATION_FACTOR|HTTP_PORT)$"
)
OUR_IMAGE = "churn-signal-detector"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def compose() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())


def pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest") and any(
        c.isdigit() for c in tag)


# -- compose -----------------------------------------------------------------------------------


def test_compose_parses_and_has_the_expected_services():
    services = compose()["services"]
    assert {"kafka", "topics", "worker-1", "worker-2", "webhook-sink", "prometheus", "grafana",
            "producer"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    env = services["kafka"]["environment"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"], "KRaft: the broker is its own controller"
    assert services["producer"]["profiles"] == ["sample"]
    assert services["worker-1"]["command"] == ["worker"]
    assert services["webhook-sink"]["command"] == ["sink", "webhook"]


def test_compose_images_are_pinned():
    for name, svc in compose()["services"].items():
        assert pinned(svc["image"]), f"{name}: {svc['image']} is not pinned"
        if svc["image"].startswith(OUR_IMAGE):
            assert svc["image"].endswith(":" + pyproject()["project"]["version"])
            assert (COMPOSE_DIR / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()


def test_compose_env_vars_are_real_settings_or_known_foreign_vars():
    for name, svc in compose()["services"].items():
        for var, value in (svc.get("environment") or {}).items():
            if var.startswith("CHURN_"):
                assert var in SETTINGS_VARS, f"{name}: {var} is no Settings field"
                if isinstance(value, str) and "${" not in value:
                    Settings(**{var[6:].lower(): value})  # the value is valid too
            else:
                assert FOREIGN_VAR.match(var), f"{name}: unknown variable {var}"


def test_compose_ports_match_the_settings_defaults():
    services = compose()["services"]
    for name in ("worker-1", "worker-2", "webhook-sink"):
        env = services[name]["environment"]
        assert int(env["CHURN_METRICS_PORT"]) == DEFAULTS.metrics_port
    prom = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    targets = prom["scrape_configs"][0]["static_configs"][0]["targets"]
    assert prom["scrape_configs"][0]["job_name"] == "churn-detector"
    for target in targets:
        host, port = target.split(":")
        assert host in services and int(port) == DEFAULTS.metrics_port
    kafka_host = services["worker-1"]["environment"]["CHURN_KAFKA_BROKER"]
    host, port = kafka_host.split(":")
    assert host == "kafka" and f"PLAINTEXT://:{port}" in services["kafka"]["environment"][
        "KAFKA_LISTENERS"]


def test_compose_mounted_files_exist():
    mounted = []
    for name, svc in compose()["services"].items():
        for vol in svc.get("volumes") or []:
            src = vol.split(":")[0]
            if src.startswith("."):
                path = (COMPOSE_DIR / src).resolve()
                assert path.exists(), f"{name}: {src} does not exist"
                mounted.append(path.relative_to(ROOT).as_posix())
    for wanted in ("deploy/prometheus/churn-detector.rules.yml", "deploy/grafana/dashboards",
                   "deploy/grafana/provisioning/dashboards", "streams/data/sample_stream.jsonl"):
        assert wanted in mounted
    prom = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    assert prom["rule_files"] == ["churn-detector.rules.yml"]


def test_compose_topic_init_creates_every_topic_of_the_settings():
    script = (COMPOSE_DIR / "create-topics.sh").read_text()
    for field in Settings.model_fields:
        if field.startswith("topic_") and isinstance(getattr(DEFAULTS, field), str):
            assert getattr(DEFAULTS, field) in script, field
    parts = compose()["services"]["topics"]["environment"]["TOPIC_PARTITIONS"]
    assert compose()["services"]["worker-1"]["environment"]["CHURN_TOPIC_PARTITIONS"] == parts


def test_compose_grafana_datasource_keeps_the_dashboard_uid():
    ours = yaml.safe_load((COMPOSE_DIR / "grafana" / "datasource.yaml").read_text())
    theirs_path = ROOT / "deploy/grafana/provisioning/datasources/churn-prometheus.yaml"
    theirs = yaml.safe_load(theirs_path.read_text())
    assert ours["datasources"][0]["uid"] == theirs["datasources"][0]["uid"]
    assert ours["datasources"][0]["url"] == "http://prometheus:9090"


# -- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_is_multistage_nonroot_with_healthcheck_and_cli_entrypoint():
    instr = dockerfile_instructions()
    froms = [rest for word, rest in instr if word == "FROM"]
    assert len(froms) >= 2 and any(" AS build" in f for f in froms)
    args = dict(rest.split("=", 1) for word, rest in instr if word == "ARG" and "=" in rest)
    for f in froms:
        image = f.split()[0]
        image = args.get(image.strip("${}"), image)
        assert pinned(image), image
    users = [rest for word, rest in instr if word == "USER"]
    assert users and not users[-1].startswith(("root", "0"))
    assert any(word == "HEALTHCHECK" for word, _ in instr)
    [entry] = [rest for word, rest in instr if word == "ENTRYPOINT"]
    script = pyproject()["project"]["scripts"]
    assert entry == f'["{next(iter(script))}"]'
    health = [rest for word, rest in instr if word == "HEALTHCHECK"][0]
    assert str(DEFAULTS.metrics_port) in health and "/metrics" in health
    assert any(word == "EXPOSE" and rest == str(DEFAULTS.metrics_port) for word, rest in instr)
    for word, rest in instr:
        if word == "ENV":
            for var in re.findall(r"(CHURN_[A-Z_]+)=", rest):
                assert var in SETTINGS_VARS, var


def test_dockerfile_copies_only_existing_sources_and_dockerignore_keeps_them():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for word, rest in dockerfile_instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        *sources, _dest = shlex.split(rest)
        for src in sources:
            if "*" in src:
                continue
            assert (ROOT / src).exists(), src
            assert f"!{src.rstrip('/')}/" in ignore or f"!{src}" in ignore, src
    packages = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {shlex.split(rest)[0] for word, rest in dockerfile_instructions()
              if word == "COPY" and "--from=" not in rest}
    for pattern in packages:
        assert pattern.rstrip("*") in copied, f"package {pattern} is not copied into the image"


@pytest.mark.parametrize("path", ["docs/operating.md", "docs/contracts.md",
                                  "docs/integrations.md", "docs/asyncapi.yaml"])
def test_docs_exist_and_mention_only_real_settings(path):
    text = (ROOT / path).read_text()
    for var in set(re.findall(r"\bCHURN_[A-Z_]+[A-Z]\b", text)):
        if var.startswith("CHURN_TOPIC_") and var.endswith("_"):
            continue
        assert var in SETTINGS_VARS or var == "CHURN_TOPIC_", f"{path}: {var}"
