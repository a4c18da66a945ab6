"""The shipped Grafana dashboard and provisioning files."""

from __future__ import annotations

import re

import yaml

from streams.metrics import LABEL_VALUES
from tests.deploy.shipped import (
    DATASOURCE_UID,
    GRAFANA_DIR,
    PANEL_DATASOURCE,
    PROMETHEUS_LABELS,
    SINK_LABELS,
    dashboard_exprs,
    exported_metric_names,
    label_names,
    load_dashboard,
    metric_names,
    panels,
    variable_queries,
)

REQUIRED_PANELS = {
    "friction heatmap",
    "churn-intent trend",
    "alerts by type and severity",
    "cx gap by stage: expected vs observed",
    "throughput",
    "latency percentiles",
    "consumer lag",
    "errors and dead letters",
    "webhook sink: alerts delivered and dead-lettered",
    "webhook sink: http attempts",
    "webhook sink: delivery time",
    "offset gaps",
    "worker memory",
    "micro-batch size",
}


def test_dashboard_loads_as_a_dashboard_model():
    dash = load_dashboard()
    assert dash["uid"] == "churn-detector" and len(dash["uid"]) <= 40
    assert dash["title"]
    assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 36
    assert dash["time"]["from"] and dash["time"]["to"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dash):
        assert panel["type"] in {"timeseries", "table", "bargauge", "stat", "heatmap"}, panel
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["datasource"] == PANEL_DATASOURCE
        assert panel["targets"], f"{panel['title']}: no targets"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"] == PANEL_DATASOURCE


def test_dashboard_has_the_required_panels_and_variables():
    titles = [p["title"].lower() for p in panels(load_dashboard())]
    for wanted in REQUIRED_PANELS:
        assert any(wanted in t for t in titles), f"no panel for {wanted!r}"
    variables = {v[0]: v for v in variable_queries()}
    assert set(variables) >= {"channel", "stage"}
    assert variables["channel"][2] == "channel" and variables["stage"][2] == "journey_stage"
    [ds] = [v for v in load_dashboard()["templating"]["list"] if v["type"] == "datasource"]
    assert ds["name"] == "datasource" and ds["query"] == "prometheus"
    for var in load_dashboard()["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"] == PANEL_DATASOURCE
            assert var["includeAll"] and var["allValue"] == ".*"
    # both variables are used by at least one panel
    exprs = " ".join(e for _, e in dashboard_exprs())
    assert "$channel" in exprs and "$stage" in exprs


def test_dashboard_references_only_metrics_and_labels_the_service_exports():
    exported = exported_metric_names()
    allowed_labels = set(LABEL_VALUES) | {"topic", "partition"} | PROMETHEUS_LABELS | SINK_LABELS
    read: set[str] = set()
    for where, expr in dashboard_exprs():
        names = metric_names(expr)
        assert names, f"{where}: reads no metric"
        assert names <= exported, f"{where}: unknown metrics {names - exported}"
        assert label_names(expr) <= allowed_labels, f"{where}: {label_names(expr)}"
        assert 'job="churn-detector"' in expr, f"{where}: not scoped to the job"
        read |= names
    for _, selector, label in variable_queries():
        assert metric_names(selector) <= exported and label in allowed_labels
    # the check can fail: a misspelt metric is caught
    assert not metric_names("rate(churn_events_consumd_total[5m])") <= exported
    # and the dashboard shows the service's main metrics
    for wanted in ("churn_events_consumed_total", "churn_alerts_emitted_total",
                   "churn_consumer_lag_records", "churn_events_deadlettered_total",
                   "churn_friction_signals_total", "churn_stage_cx_gap"):
        assert wanted in read


def test_provisioning_files_point_at_the_dashboard_and_the_datasource():
    datasources = GRAFANA_DIR / "provisioning" / "datasources" / "churn-prometheus.yaml"
    ds = yaml.safe_load(datasources.read_text())
    assert ds["apiVersion"] == 1
    (source,) = ds["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "prometheus"
    assert source["url"].startswith("http")
    prov = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/churn-detector.yaml").read_text())
    assert prov["apiVersion"] == 1
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    assert (GRAFANA_DIR / "dashboards" / "churn-detector.json").is_file()


def test_no_datasource_uid_is_hard_coded_in_the_dashboard():
    text = (GRAFANA_DIR / "dashboards" / "churn-detector.json").read_text()
    assert DATASOURCE_UID not in text


#: The unit a panel must show for what its expressions read, by metric name suffix.
UNIT_OF_SUFFIX = {"_seconds": "s", "_bytes": "bytes"}


def expected_unit(expr: str) -> str | None:
    """The unit of an expression's result from the metrics it reads (None: a count or ratio)."""
    units = set()
    for name in metric_names(expr):
        base = re.sub(r"_(bucket|sum|count|total)$", "", name)
        units.add(next((u for suf, u in UNIT_OF_SUFFIX.items() if base.endswith(suf)), None))
    assert len(units) == 1, f"{expr} mixes units {units}"
    if "histogram_quantile" not in expr and any(n.endswith(("_sum", "_count")) for n in
                                                  metric_names(expr)):
        return None  # a mean of a histogram's sum over its count: e.g. a batch size
    return units.pop()


def test_every_panel_shows_the_unit_of_what_it_plots():
    for panel in panels(load_dashboard()):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        overridden = {o["matcher"]["options"]
                      for o in panel.get("fieldConfig", {}).get("overrides", [])
                      if any(p["id"] == "unit" for p in o["properties"])}
        for target in panel["targets"]:
            if target.get("legendFormat") in overridden:
                continue
            want = expected_unit(target["expr"])
            if want is not None:
                assert unit == want, f"{panel['title']}: {target['expr']} is in {want}"
            else:
                assert unit not in UNIT_OF_SUFFIX.values(), (
                    f"{panel['title']}: {target['expr']} is no {unit}")
    # the check can fail: a batch size on a seconds axis is caught
    assert expected_unit("sum(rate(churn_classification_batch_size_sum[5m]))"
                         " / sum(rate(churn_classification_batch_size_count[5m]))") is None


def test_the_flags_panel_shows_every_flag_a_rule_sets():
    """A flag added to the classifier's rules (``leaving_terms``) is plotted, not left out
    of the panel's regex: every flag from how a text was read onwards, but the out-of-office
    replies, which are not contacts."""
    from detector.signals import SIGNAL_FLAGS

    (expr,) = [e for _, e in dashboard_exprs() if "churn_signal_flags_total" in e]
    plotted = set(re.search(r'flag=~"([^"]+)"', expr).group(1).split("|"))  # type: ignore[union-attr]
    read = SIGNAL_FLAGS[SIGNAL_FLAGS.index("non_english"):]
    assert set(read) - plotted == {"auto_reply"}
