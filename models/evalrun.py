"""``churn-detector eval``: the leave-one-domain-out run (:mod:`models.lodo`) and its reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.lodo import (
    ADAPT_DRAWS,
    ENGLISH_DOMAINS,
    FOREIGN_DOMAINS,
    MEASURES,
    REAL_DOMAINS,
    adaptation_rows,
    baselines,
    cascade_scores,
    fit_path,
    from_scores,
    load_domains,
    macro,
    measure,
    score_rows,
    training_pool,
)

TITLES = {"friction_present_f1": "friction present F1",
          "friction_category_macro_f1": "friction category macro-F1",
          "sentiment_auc": "sentiment AUC (negative)", "explicit_f1": "explicit churn F1",
          "churn_risk_f1": "any churn risk F1", "stage_accuracy": "journey stage accuracy",
          "long_friction_found": "texts over 2,000 characters with friction found"}


def _quiet(_: str) -> None:
    return None


def run_eval(data_root: Path | None, out_dir: Path, cache_dir: Path,
             paths: Sequence[str] = ("transformer", "static"), limit: int | None = None,
             adapt: bool = True, progress: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Leave-one-domain-out evaluation of the bundled manifest's recipes, the cascade, the
    baselines and (``adapt``) the default path adapted on 8 rows per label of each held-out
    real domain; writes ``eval.json`` and ``eval.md`` to ``out_dir``."""
    from models import bundled_artifacts
    from models.baselines import ZeroShot
    from models.classifier import load_taxonomy
    from models.datasets import load_seed
    from models.recipe import load_manifest
    from models.train import path_encoder, taxonomy_examples

    manifest = load_manifest(bundled_artifacts())
    taxonomy = load_taxonomy()
    tax_rows = taxonomy_examples(taxonomy)
    domains = load_domains(data_root, load_seed(), limit)
    recipes = {p: manifest.recipes[p] for p in paths}
    encoders = {p: path_encoder(r, cache_dir) for p, r in recipes.items()}
    target = encoders.get("transformer") or path_encoder(
        manifest.recipes["transformer"], cache_dir)
    zs_enc = encoders.get("transformer")
    zero_shot = ZeroShot(zs_enc, taxonomy) if zs_enc is not None else None
    default = manifest.default if manifest.default in recipes else paths[0]
    per_domain: dict[str, Any] = {}
    held_out = [d for d in ENGLISH_DOMAINS if d in domains]
    for n, held in enumerate(held_out, 1):
        progress(f"[{n}/{len(held_out) + 1}] {held} held out")
        rows = training_pool(domains, tax_rows, exclude=held)
        test = domains[held].test
        fitted = {p: fit_path(r, encoders[p], rows, target) for p, r in recipes.items()}
        heads = {p: f.heads for p, f in fitted.items()}
        scores = {p: score_rows(r, fitted[p].encoder, heads[p], test)
                  for p, r in recipes.items()}
        systems = {p: measure(held, test, from_scores(s)) for p, s in scores.items()}
        entry: dict[str, Any] = {"rows": len(test), "training_rows": len(rows),
                                 "systems": systems}
        if "static" in scores and "transformer" in scores:
            merged, share = cascade_scores(scores["static"], scores["transformer"],
                                           heads["static"], manifest.cascade)
            systems["cascade"] = measure(held, test, from_scores(merged))
            entry["cascade_routed"] = round(share, 4)
        emb = zs_enc.encode([e.text for e in test]) if zs_enc is not None else None
        for name, pred in baselines(test, zero_shot, emb).items():
            systems[name] = measure(held, test, pred)
        if adapt and held in REAL_DOMAINS:
            fews = [adaptation_rows(domains[held], k) for k in range(ADAPT_DRAWS)]
            draws = [_adapted(recipes[default], fitted[default].encoder, heads[default],
                              few, held, test) for few in fews]
            systems[f"{default}+8/label"] = {
                m: round(float(np.mean([d[m] for d in draws])), 4) for m in draws[0]}
            entry["adaptation_rows"] = len(fews[0])
            entry["adaptation_draws"] = draws
        per_domain[held] = entry
    foreign = [d for d in FOREIGN_DOMAINS if d in domains]
    if foreign:
        progress(f"[{len(held_out) + 1}/{len(held_out) + 1}] other languages (trained on "
                 "every English domain)")
        rows = training_pool(domains, tax_rows)
        fitted = {p: fit_path(r, encoders[p], rows, target) for p, r in recipes.items()}
        for name in foreign:
            test = domains[name].test
            systems = {p: measure(name, test, from_scores(score_rows(
                r, fitted[p].encoder, fitted[p].heads, test))) for p, r in recipes.items()}
            for bname, pred in baselines(test, None, None).items():
                systems[bname] = measure(name, test, pred)
            per_domain[name] = {"rows": len(test), "systems": systems}
    names = sorted({s for d in per_domain.values() for s in d["systems"]})
    result: dict[str, Any] = {
        "protocol": "leave-one-domain-out", "default_path": manifest.default,
        "recipes": {p: r.to_dict() for p, r in recipes.items()},
        "cascade_rule": manifest.cascade.__dict__, "domains": per_domain,
        "macro": {s: macro({d: v["systems"] for d, v in per_domain.items()}, s,
                           [d for d in held_out]) for s in names},
        "macro_real": {s: macro({d: v["systems"] for d, v in per_domain.items()}, s,
                                [d for d in held_out if d in REAL_DOMAINS]) for s in names},
    }
    routed = [v["cascade_routed"] for v in per_domain.values() if "cascade_routed" in v]
    if routed:
        result["cascade_routed_mean"] = round(sum(routed) / len(routed), 4)
    write_reports(result, out_dir)
    return result


def _adapted(recipe: Any, encoder: Any, heads: Any, few: Sequence[Any], held: str,
             test: Sequence[Any]) -> dict[str, float]:
    """The held-out domain's measures after ``train --data`` on ``few`` of its training rows."""
    from models.adapt import adapt_heads

    adapted = adapt_heads(heads, encoder.encode([e.text for e in few]), few, recipe.train.c,
                          recipe.train.adapt_prior)
    return measure(held, test, from_scores(score_rows(recipe, encoder, adapted, test)))


def _cell(v: Any) -> str:
    return "" if v is None else f"{v:.3f}"


def write_reports(result: dict[str, Any], out_dir: Path) -> None:
    """``eval.json`` and ``eval.md``: one table per measure, a row per held-out domain."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    domains = result["domains"]
    systems = sorted({s for d in domains.values() for s in d["systems"]},
                     key=lambda s: (s not in ("transformer", "static", "cascade"), "+" in s, s))
    lines = ["# Signal model evaluation: leave-one-domain-out", "",
             "Each English domain is scored by models trained without it (its test rows; the "
             "seed set whole); the other-language sets by models trained on every English "
             f"domain. Default path: `{result['default_path']}`. `+8/label`: the default path "
             "adapted on 8 rows per label of the held-out domain's training split (mean "
             f"over {ADAPT_DRAWS} draws of the rows).", ""]
    if "cascade_routed_mean" in result:
        lines += [f"Cascade: {result['cascade_routed_mean']:.1%} of events routed to the "
                  "transformer on average over the held-out domains.", ""]
    for title, key in (("Macro over held-out English domains", "macro"),
                       ("Macro over the held-out real review and complaint domains",
                        "macro_real")):
        # the adapted column exists for the real domains only: its macro is theirs
        shown = [s for s in systems if key == "macro_real" or "+" not in s]
        lines += [f"## {title}", "", "| measure | " + " | ".join(shown) + " |",
                  "| --- |" + " ---: |" * len(shown)]
        for m in MEASURES:
            cells = [_cell(result[key].get(s, {}).get(m)) for s in shown]
            if any(cells):
                lines.append(f"| {TITLES[m]} | " + " | ".join(cells) + " |")
        lines.append("")
    for m in (*MEASURES, "long_friction_found"):
        order = [d for d in (*ENGLISH_DOMAINS, *FOREIGN_DOMAINS) if d in domains]
        rows = [(d, domains[d]) for d in order
                if any(m in s for s in domains[d]["systems"].values())]
        if not rows:
            continue
        lines += [f"## {TITLES[m]}", "", "| domain (rows) | " + " | ".join(systems) + " |",
                  "| --- |" + " ---: |" * len(systems)]
        for d, v in rows:
            tag = " (other language)" if d in FOREIGN_DOMAINS else ""
            cells = [_cell(v["systems"].get(s, {}).get(m)) for s in systems]
            lines.append(f"| {d}{tag} ({v['rows']}) | " + " | ".join(cells) + " |")
        lines.append("")
    (out_dir / "eval.md").write_text("\n".join(lines) + "\n")


README_MEASURES = ("friction_present_f1", "friction_category_macro_f1", "sentiment_auc",
                   "explicit_f1")


def readme_table(result: dict[str, Any]) -> str:
    """The README's short models table: each measure's macro over the held-out English
    domains for the paths and the baselines (``eval.json``, see docs/eval)."""
    systems = [s for s in ("transformer", "static", "cascade", "vader", "keywords", "zero_shot")
               if s in result["macro"]]
    lines = ["Leave-one-domain-out, macro over the held-out English domains "
             f"([docs/eval/eval.md](docs/eval/eval.md)); the cascade routes "
             f"{result.get('cascade_routed_mean', 0):.0%} of events to the transformer.", "",
             "| measure | " + " | ".join(systems) + " |", "| --- |" + " ---: |" * len(systems)]
    for m in README_MEASURES:
        cells = [_cell(result["macro"].get(s, {}).get(m)) for s in systems]
        lines.append(f"| {TITLES[m]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
