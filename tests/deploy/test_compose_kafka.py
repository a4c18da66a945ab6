"""compose's Kafka settings checked for meaning: a broker with them would start and be reachable.

Kafka (KRaft) refuses a ``CLUSTER_ID`` that is not a base64url UUID (16 bytes); a client is sent
the *advertised* listener address after bootstrap, so each advertised address must be reachable
from where that listener's clients are (inside the compose network, or on the host through a
published port); the node must be one of the controller quorum voters.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
OPERATING = ROOT / "docs" / "operating.md"
HOST_NAMES = {"localhost", "127.0.0.1"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as ``{NAME: (host, port)}`` (an empty host binds every address)."""
    out = {}
    for item in value.split(","):
        name, _, addr = item.strip().partition("://")
        host, _, port = addr.rpartition(":")
        out[name] = (host, int(port))
    return out


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """``{container port: host port}`` of a service's short-syntax ``ports``."""
    out = {}
    for spec in service.get("ports") or []:
        parts = str(spec).split(":")
        host_port, container_port = parts[-2], parts[-1]
        out[int(container_port.split("/")[0])] = int(host_port)
    return out


def cluster_id_problem(cluster_id: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id):
        return f"{cluster_id!r} is not 22 base64url characters"
    try:
        raw = base64.urlsafe_b64decode(cluster_id + "==")
    except (binascii.Error, ValueError) as exc:
        return f"{cluster_id!r} does not decode: {exc}"
    return None if len(raw) == 16 else f"{cluster_id!r} decodes to {len(raw)} bytes, not 16"


def kafka_problems(services: dict[str, Any], name: str = "kafka") -> list[str]:
    """Why a KRaft broker configured as ``services[name]`` would not start or not be reachable."""
    svc = services[name]
    env = {k: str(v) for k, v in svc["environment"].items()}
    internal_names = {name, svc.get("hostname", name)}
    problems = []
    if (p := cluster_id_problem(env["CLUSTER_ID"])) is not None:
        problems.append(p)
    listeners = _listeners(env["KAFKA_LISTENERS"])
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(i.split(":") for i in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    published = published_ports(svc)
    for listener in listeners:
        if listener not in protocols:
            problems.append(f"listener {listener} has no security protocol")
    for listener, (host, port) in advertised.items():
        if listener not in listeners:
            problems.append(f"advertised {listener} is not a listener")
            continue
        if listener == controller:
            problems.append(f"the controller listener {listener} is advertised to clients")
        bound = listeners[listener][1]
        if port != bound and published.get(bound) != port:
            problems.append(f"{listener} advertises port {port} but listens on {bound}")
        if host in HOST_NAMES:
            if published.get(bound) != port:
                problems.append(f"{listener} advertises {host}:{port} but the host port {port} "
                                f"is not published to container port {bound}")
        elif host not in internal_names:
            problems.append(f"{listener} advertises {host}, neither the host nor a compose name")
    if env["KAFKA_INTER_BROKER_LISTENER_NAME"] not in advertised:
        problems.append("the inter-broker listener is not advertised")
    node_id = env["KAFKA_NODE_ID"]
    voters = {}
    for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        vid, _, addr = voter.partition("@")
        host, _, port = addr.rpartition(":")
        voters[vid] = (host, int(port))
    if node_id not in voters:
        problems.append(f"node id {node_id} is not among the quorum voters {sorted(voters)}")
    else:
        host, port = voters[node_id]
        if host not in internal_names or port != listeners.get(controller, ("", -1))[1]:
            problems.append(f"voter {node_id}@{host}:{port} is not this node's {controller}")
    return problems


def test_compose_kafka_would_start_and_be_reachable():
    assert kafka_problems(compose()["services"]) == []


def test_compose_kafka_keeps_its_log_dir_on_the_named_volume():
    """The fixed cluster id goes with data that survives a restart (the image formats the log
    dir with CLUSTER_ID once; a volume formatted with another id would refuse to start)."""
    kafka = compose()["services"]["kafka"]
    targets = {v.split(":")[1] for v in kafka["volumes"]}
    assert kafka["environment"]["KAFKA_LOG_DIRS"] in targets


def test_the_kafka_check_catches_the_faults_it_is_for():
    """The broken settings this stack once shipped are each reported."""
    services = compose()["services"]
    env = services["kafka"]["environment"]
    broken = {**services, "kafka": {**services["kafka"], "ports": ["9092:9092"], "environment": {
        **env, "CLUSTER_ID": "churn-detector-kraft-01", "KAFKA_NODE_ID": "2"}}}
    problems = " | ".join(kafka_problems(broken))
    assert "22 base64url" in problems
    assert "localhost:29092" in problems and "not published" in problems
    assert "node id 2" in problems
    assert cluster_id_problem("MkU3OEVBNTcwNTJENDM2Qk") is None  # Kafka's documented example
    assert cluster_id_problem("MkU3OEVBNTcwNTJENDM2") is not None  # 20 characters


def test_clients_in_compose_and_on_the_host_use_advertised_listeners():
    services = compose()["services"]
    env = services["kafka"]["environment"]
    advertised = {f"{h}:{p}" for h, p in _listeners(env["KAFKA_ADVERTISED_LISTENERS"]).values()}
    for name, svc in services.items():
        broker = (svc.get("environment") or {}).get("CHURN_KAFKA_BROKER")
        if broker:
            assert broker in advertised, f"{name} bootstraps from {broker}"
    assert services["topics"]["environment"]["KAFKA_BOOTSTRAP"] in advertised
    # what docs/operating.md promises to host clients is advertised and published
    promised = set(re.findall(r"localhost:(\d+)`", OPERATING.read_text()))
    kafka_ports = {p for h, p in (a.split(":") for a in advertised) if h in HOST_NAMES}
    assert kafka_ports and kafka_ports <= promised


def test_compose_publishes_host_ports_on_loopback_only():
    for name, svc in compose()["services"].items():
        for spec in svc.get("ports") or []:
            assert str(spec).startswith("127.0.0.1:"), f"{name}: {spec} is open to the network"
