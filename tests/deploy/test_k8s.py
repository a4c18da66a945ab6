"""deploy/k8s rendered as `kubectl apply -k` would send it, checked for what a cluster would do.

kubectl renders when installed (it is here); otherwise tests/deploy/kustomize.py renders the
same resources in Python (a test keeps both renders equal where kubectl exists).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings
from tests.deploy.kustomize import (
    K8S_DIR,
    keyed,
    kustomization,
    render,
    render_kubectl,
    render_python,
)
from tests.deploy.shipped import dashboard_exprs, rule_exprs

ROOT = Path(__file__).resolve().parents[2]
OPERATING = ROOT / "docs" / "operating.md"
SETTINGS_VARS = {"CHURN_" + name.upper() for name in Settings.model_fields}
DEFAULTS = Settings()
OUR_IMAGE = "churn-signal-detector"
#: Measured peak resident memory of a transformer worker (docs/operating.md, Sizing).
WORKER_PEAK_BYTES = 1.56e9
#: KEDA's Kafka scaler spelling of each SASL mechanism.
KEDA_SASL = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256",
             "SCRAM-SHA-512": "scram_sha512"}
SECRET_NAME = "churn-detector-secrets"
_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3}


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity (``1500m``, ``2Gi``, ``1.5G``) as a number."""
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert m and m.group(2) in _UNITS, value
    return float(m.group(1)) * _UNITS[m.group(2)]


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render()


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def config(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(docs, "ConfigMap", "churn-detector-config")["data"]
    return data


def worker_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    sts = one(docs, "StatefulSet")
    [container] = sts["spec"]["template"]["spec"]["containers"]
    return dict(container)


def documented_secret_keys() -> set[str]:
    """The keys of the `kubectl create secret generic` command docs/operating.md gives."""
    text = re.sub(r"\\\n\s*", " ", OPERATING.read_text())
    m = re.search(rf"kubectl .*create secret generic {SECRET_NAME}((?: --from-literal=\S+)+)",
                  text)
    assert m, f"docs/operating.md shows no `kubectl create secret generic {SECRET_NAME}`"
    return set(re.findall(r"--from-literal=(\w+)=", m.group(1)))


# -- the render --------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_the_python_render_is_what_kubectl_renders():
    assert keyed(render_python()) == keyed(render_kubectl())


def test_the_kustomization_lists_every_manifest_and_ships_no_secret(docs):
    listed = set(kustomization()["resources"])
    assert listed == {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert not of_kind(docs, "Secret"), "an apply would overwrite the real secret"
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == kustomization()["namespace"], doc["kind"]


def test_the_secret_is_documented_and_every_reference_to_it_is_a_documented_key(docs):
    keys = documented_secret_keys()
    for key in keys:
        assert key in SETTINGS_VARS, key
        assert Settings.model_fields[key[6:].lower()].annotation.__name__ == "SecretStr", key
    assert "CHURN_KAFKA_SASL_PASSWORD" in keys and "CHURN_WEBHOOK_SECRET" in keys
    for kind in ("StatefulSet", "Deployment"):
        for doc in of_kind(docs, kind):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                refs = [e["secretRef"]["name"] for e in c["envFrom"] if "secretRef" in e]
                assert refs == [SECRET_NAME], doc["metadata"]["name"]
    for auth in of_kind(docs, "TriggerAuthentication"):
        for ref in auth["spec"].get("secretTargetRef", []):
            assert ref["name"] == SECRET_NAME and ref["key"] in keys, ref


def test_configmap_vars_are_real_settings_with_valid_values(docs):
    cm = config(docs)
    for var, value in cm.items():
        assert var in SETTINGS_VARS, var
        Settings(**{var[6:].lower(): value})
    assert int(cm["CHURN_METRICS_PORT"]) == DEFAULTS.metrics_port


# -- workers -----------------------------------------------------------------------------------


def test_workers_leave_the_replica_count_to_keda(docs):
    sts = one(docs, "StatefulSet")
    so = one(docs, "ScaledObject")
    assert so["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts["metadata"]["name"]}
    assert "replicas" not in sts["spec"], "every apply would reset KEDA's count"


def test_workers_keep_state_on_a_volume_and_probe_liveness_and_readiness(docs):
    sts = one(docs, "StatefulSet")
    cm = config(docs)
    assert cm["CHURN_STORE"] == "rocksdb"
    container = worker_container(docs)
    claim = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim] == cm["CHURN_DATA_DIR"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": DEFAULTS.metrics_port}
    wanted = {"livenessProbe": "/livez", "readinessProbe": "/readyz", "startupProbe": "/livez"}
    for probe, path in wanted.items():
        assert container[probe]["httpGet"] == {"path": path, "port": "metrics"}, probe
    assert sts["spec"]["serviceName"] in {s["metadata"]["name"] for s in of_kind(docs, "Service")}
    assert container["args"] == ["worker"]


def test_worker_memory_request_is_above_the_measured_peak_and_threads_follow_the_cpu_limit(docs):
    container = worker_container(docs)
    res = container["resources"]
    assert quantity(res["requests"]["memory"]) > WORKER_PEAK_BYTES
    assert quantity(res["limits"]["memory"]) > quantity(res["requests"]["memory"])
    assert quantity(res["limits"]["cpu"]) >= quantity(res["requests"]["cpu"])
    env = {e["name"]: e for e in container.get("env", [])}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        ref = env[var]["valueFrom"]["resourceFieldRef"]
        assert ref["resource"] == "limits.cpu" and ref["containerName"] == container["name"]
        assert quantity(ref.get("divisor", "1")) == 1


@pytest.mark.parametrize("kind", ["StatefulSet", "Deployment"])
def test_pods_meet_pod_security_restricted_and_spread_over_nodes(docs, kind):
    for doc in of_kind(docs, kind):
        pod = doc["spec"]["template"]["spec"]
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert c["image"].startswith(OUR_IMAGE + ":") and c["image"].split(":")[1]
            for kind_ in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind_])
        spread = {s["topologyKey"]: s for s in pod["topologySpreadConstraints"]}
        host = spread["kubernetes.io/hostname"]
        assert host["labelSelector"]["matchLabels"].items() <= labels.items()


def test_disruption_budgets_select_real_pods(docs):
    labels = [d["spec"]["template"]["metadata"]["labels"]
              for d in of_kind(docs, "StatefulSet") + of_kind(docs, "Deployment")]
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        sel = pdb["spec"]["selector"]["matchLabels"]
        assert any(sel.items() <= lab.items() for lab in labels), sel


# -- autoscaling -------------------------------------------------------------------------------


def test_keda_watches_every_topic_the_worker_group_consumes(docs):
    cm = config(docs)
    so = one(docs, "ScaledObject")
    settings = Settings(**{k[6:].lower(): v for k, v in cm.items()})
    assert so["spec"]["maxReplicaCount"] <= settings.topic_partitions
    assert 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"]
    consumed = set(settings.source_topic_names()) | {settings.topic_signals,
                                                      settings.topic_stage_signals}
    watched = set()
    for trigger in so["spec"]["triggers"]:
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == settings.app_id
        assert meta["bootstrapServers"] == settings.kafka_broker
        assert int(meta["lagThreshold"]) > 0
        one(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        watched.add(meta["topic"])
    assert watched == consumed


def _resolve(docs: list[dict[str, Any]], auth: dict[str, Any]) -> dict[str, str]:
    """KEDA's view of a TriggerAuthentication: parameter -> value (secrets as their key)."""
    out = {}
    for ref in auth["spec"].get("configMapTargetRef", []):
        out[ref["parameter"]] = one(docs, "ConfigMap", ref["name"])["data"][ref["key"]]
    for ref in auth["spec"].get("secretTargetRef", []):
        out[ref["parameter"]] = f"secret:{ref['name']}/{ref['key']}"
    return out


def test_keda_logs_in_to_kafka_the_way_the_workers_do(docs):
    cm = config(docs)
    so = one(docs, "ScaledObject")
    [name] = {t["authenticationRef"]["name"] for t in so["spec"]["triggers"]}
    params = _resolve(docs, one(docs, "TriggerAuthentication", name))
    protocol = cm["CHURN_KAFKA_SECURITY_PROTOCOL"]
    if protocol.startswith("SASL_"):
        assert params["sasl"] == KEDA_SASL[cm["CHURN_KAFKA_SASL_MECHANISM"]]
        assert params["username"] == cm["CHURN_KAFKA_SASL_USERNAME"]
        assert params["password"] == f"secret:{SECRET_NAME}/CHURN_KAFKA_SASL_PASSWORD"
    assert params.get("tls", "disable") == ("enable" if protocol.endswith("SSL") else "disable")


# -- monitoring --------------------------------------------------------------------------------


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def the_job_the_rules_select() -> set[str]:
    exprs = [e for _, _, e in rule_exprs()] + [e for _, e in dashboard_exprs()]
    return {job for e in exprs for job in re.findall(r'\bjob="([^"]+)"', e)}


def test_the_servicemonitor_scrapes_every_pod_once_under_the_rules_job(docs):
    [monitor] = of_kind(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = [s for s in of_kind(docs, "Service") if _selects(selector, s["metadata"]["labels"])]
    assert len(services) == 1, "each pod must be scraped through one Service only"
    [service] = services
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names and endpoint.get("path", "/metrics") == "/metrics"
    # the Service reaches the workers and the sinks on their metrics port
    for kind in ("StatefulSet", "Deployment"):
        for doc in of_kind(docs, kind):
            pod_labels = doc["spec"]["template"]["metadata"]["labels"]
            assert _selects(service["spec"]["selector"], pod_labels), doc["metadata"]["name"]
            names = {p["name"] for c in doc["spec"]["template"]["spec"]["containers"]
                     for p in c["ports"]}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in names | {DEFAULTS.metrics_port}
    # Prometheus Operator: job = the Service label named by jobLabel, else the Service's name
    job_label = monitor["spec"].get("jobLabel")
    job = service["metadata"]["labels"][job_label] if job_label else service["metadata"]["name"]
    for endpoint in monitor["spec"]["endpoints"]:
        for relabel in endpoint.get("relabelings", []):
            if relabel.get("targetLabel") == "job":
                job = relabel["replacement"]
    assert the_job_the_rules_select() == {job}


def test_no_annotation_discovery_that_would_scrape_under_another_job(docs):
    for doc in docs:
        annotations = doc["metadata"].get("annotations") or {}
        assert not any(a.startswith("prometheus.io/") for a in annotations), doc["kind"]


def test_docs_give_the_kubernetes_sd_job_for_prometheus_without_the_operator():
    text = OPERATING.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    jobs = [j for b in blocks for j in (yaml.safe_load(b) or {}).get("scrape_configs", [])]
    [job] = [j for j in jobs if "kubernetes_sd_configs" in j]
    assert {job["job_name"]} == the_job_the_rules_select()
