"""``churn-detector train``, ``eval`` and ``build-static``: the model commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from streams.settings import Settings

DEFAULT_DATA = Path("../shared/data")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None


CASCADE_SETTINGS = {"churn": "cascade_churn_threshold", "band": "cascade_friction_band"}


def cascade_thresholds(settings: Settings) -> dict[str, float] | None:
    """The cascade thresholds set in settings, by field (None: all from the model folder's
    ``cascade.json``); each one given replaces only its own field."""
    given = {field: getattr(settings, name) for field, name in CASCADE_SETTINGS.items()
             if getattr(settings, name) is not None}
    return given or None


def _data_root(path: Path | None) -> Path | None:
    root = path or DEFAULT_DATA
    if root.is_dir():
        return root
    if path is not None:
        raise click.ClickException(f"public data folder {path} not found")
    click.echo(f"note: {root} not found; using the seed set only", err=True)
    return None


@click.command(name="train")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your labelled CSV/JSONL (text + intent/friction/sentiment/stage).")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Public sets folder (default ../shared/data) for the bundled models.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: the bundled models/artifacts, or ./model with --data).")
@click.option("--encoder", "kinds", multiple=True,
              type=click.Choice(["transformer", "static"]),
              help="Path(s) to train (default: both; with --data: the configured one, static "
                   "for the cascade).")
def train_cmd(data: Path | None, public_data: Path | None, out: Path | None,
              kinds: tuple[str, ...]) -> None:
    """Train the signal heads from the declared recipes (safetensors + JSON, deterministic).

    Without --data: rebuilds the bundled artifacts (manifest + heads) from the seed set, the
    taxonomy examples and every training domain. With --data: adds your labelled rows to the
    bundled heads (about 8 examples per label help; they move the bundled model towards your
    rows instead of replacing it), writes the model folder and a 4-fold cross-validated
    report comparing the bundled and the adapted heads on your rows; serve it with
    CHURN_MODEL_DIR=<out>.
    """
    settings = _settings()
    from models import bundled_artifacts
    from models.train import train_bundled, train_user

    def progress(msg: str) -> None:
        click.echo(msg, err=True)

    if data is not None:
        path = kinds[0] if kinds else ("static" if settings.encoder in ("cascade", "hashing")
                                       else settings.encoder)
        target = out or Path("model")
        try:
            result = train_user(data, target, settings.model_cache_dir, path,
                                progress=progress)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"model {result['model_version']} written to {target}; "
                   f"report: {target / 'eval.md'}", err=True)
        cv = result["cross_validation"]
        for measure in sorted(cv["adapted"]):
            click.echo(f"{measure}: bundled {cv['bundled'].get(measure, float('nan')):.3f}, "
                       f"with your rows {cv['adapted'][measure]:.3f}")
        return
    metas = train_bundled(_data_root(public_data), out or bundled_artifacts(),
                          settings.model_cache_dir, kinds or ("transformer", "static"),
                          progress=progress)
    for kind, meta in metas.items():
        click.echo(f"{kind}: {meta.get('version', json.dumps(meta, default=str))}")


@click.command(name="eval")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Public sets folder (default ../shared/data).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("eval-report"), show_default=True, help="Report folder.")
@click.option("--limit", type=int, default=None,
              help="Cap each held-out domain at about this many rows (quick check).")
@click.option("--encoder", "kinds", multiple=True, type=click.Choice(["transformer", "static"]),
              help="Paths to evaluate (default: both, plus the cascade).")
@click.option("--no-adapt", is_flag=True, help="Skip the 8-rows-per-label adaptation column.")
def eval_cmd(public_data: Path | None, out: Path, limit: int | None,
             kinds: tuple[str, ...], no_adapt: bool) -> None:
    """Leave-one-domain-out evaluation with baselines: eval.md, eval.json."""
    settings = _settings()
    from models.evalrun import run_eval

    def progress(msg: str) -> None:
        click.echo(msg, err=True)

    result = run_eval(_data_root(public_data), out, settings.model_cache_dir,
                      kinds or ("transformer", "static"), limit=limit, adapt=not no_adapt,
                      progress=progress)
    systems = [s for s in ("transformer", "static", "cascade") if s in result["macro"]]
    for name, vals in result["domains"].items():
        for model in systems:
            cells = ", ".join(f"{m} {v:.3f}" for m, v in vals["systems"].get(model, {}).items())
            click.echo(f"{name} / {model}: {cells}")
    for model in systems:
        cells = ", ".join(f"{m} {v:.3f}" for m, v in result["macro"][model].items())
        click.echo(f"macro / {model}: {cells}")
    click.echo(f"reports: {out / 'eval.md'}, {out / 'eval.json'}", err=True)


@click.command(name="build-static")
@click.option("--force", is_flag=True, help="Rebuild even if cached.")
def build_static_cmd(force: bool) -> None:
    """Distil the static (model2vec) encoder from the bundled MiniLM into the cache (offline)."""
    settings = _settings()
    from models.static import build_static_model

    path = build_static_model(settings.model_cache_dir, force=force)
    click.echo(str(path))
