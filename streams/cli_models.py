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


CASCADE_SETTINGS = {"churn": "cascade_churn_threshold",
                    "confidence": "cascade_confidence_threshold",
                    "band": "cascade_friction_band",
                    "friction_watch": "cascade_friction_watch",
                    "sentiment_confidence": "cascade_sentiment_confidence"}


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
              type=click.Choice(["transformer", "static", "hashing"]),
              help="Encoder(s) to train heads for (default: transformer and static; "
                   "with --data: the configured encoder).")
def train_cmd(data: Path | None, public_data: Path | None, out: Path | None,
              kinds: tuple[str, ...]) -> None:
    """Train the signal heads (safetensors + JSON metadata, deterministic).

    Without --data: rebuilds the bundled artifacts from the seed set, the taxonomy examples
    and the public sets. With --data: trains on your file (few-shot: ~8 examples per label
    work) and writes the model plus a cross-validated eval report; use it with
    CHURN_MODEL_DIR=<out>.
    """
    settings = _settings()
    from models import bundled_artifacts
    from models.train import train_bundled, train_user

    if data is not None:
        kind = kinds[0] if kinds else ("static" if settings.encoder == "cascade"
                                       else settings.encoder)
        target = out or Path("model")
        try:
            result = train_user(data, target, settings.model_cache_dir, kind)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"model {result['model_version']} written to {target / kind}; "
                   f"report: {target / 'eval.md'}", err=True)
        for ds, rep in result["datasets"].items():
            for task, r in rep["systems"][kind].items():
                click.echo(f"{ds} {task}: macro-F1 {r['macro_f1']:.3f}")
        return
    metas = train_bundled(_data_root(public_data), out or bundled_artifacts(),
                          settings.model_cache_dir, kinds or ("transformer", "static"))
    for kind, meta in metas.items():
        click.echo(f"{kind}: {meta.get('version', json.dumps(meta, default=str))}")


@click.command(name="tune-static")
@click.option("--texts", "texts_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your unlabelled texts: JSONL events (or rows with \"text\"), a CSV with a "
                   "text column, or plain text, one per line.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("model"), show_default=True, help="Model folder to write.")
def tune_static_cmd(texts_file: Path, out: Path) -> None:
    """Adapt the static encoder to your own traffic, without labels.

    Tunes the bundled static table further on your texts (MiniLM's embeddings of them are the
    targets) and writes a model folder with it next to the bundled heads; serve it with
    CHURN_MODEL_DIR=<out> and CHURN_ENCODER=static or cascade. A few thousand texts of your
    real traffic are enough; they are embedded in memory and not cached on disk.
    """
    settings = _settings()
    from models.train import adapt_static, read_texts

    try:
        texts = read_texts(texts_file)
        meta = adapt_static(texts, out, settings.model_cache_dir, source_name=texts_file.name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"static table adapted on {meta['adapted_on']['texts']} texts "
               f"({meta['tokens']} tokens tuned) written to {out / 'static'}; serve it with "
               f"CHURN_MODEL_DIR={out}", err=True)


@click.command(name="eval")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Public sets folder (default ../shared/data).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("eval-report"), show_default=True, help="Report folder.")
@click.option("--limit", type=int, default=None,
              help="Cap each held-out set at about this many rows (quick check).")
@click.option("--encoder", "kinds", multiple=True, type=click.Choice(["transformer", "static",
                                                                        "hashing"]),
              help="Encoders to evaluate (default: transformer and static, plus the cascade).")
def eval_cmd(public_data: Path | None, out: Path, limit: int | None,
             kinds: tuple[str, ...]) -> None:
    """Leave-one-dataset-out evaluation with baselines: eval.md, eval.json, confusion PNGs."""
    settings = _settings()
    from models.train import run_eval

    result = run_eval(_data_root(public_data), out, settings.model_cache_dir,
                      kinds or ("transformer", "static"), limit=limit)
    for ds, rep in result["datasets"].items():
        for model in ("transformer", "static", "cascade", "hashing"):
            if model in rep["systems"]:
                cells = ", ".join(f"{t} {r['macro_f1']:.3f}"
                                  for t, r in rep["systems"][model].items())
                click.echo(f"{ds} / {model}: {cells}")
    click.echo(f"reports: {out / 'eval.md'}, {out / 'eval.json'}", err=True)


@click.command(name="build-static")
@click.option("--force", is_flag=True, help="Rebuild even if cached.")
def build_static_cmd(force: bool) -> None:
    """Distil the static (model2vec) encoder from the bundled MiniLM into the cache (offline)."""
    settings = _settings()
    from models.static import build_static_model

    path = build_static_model(settings.model_cache_dir, force=force)
    click.echo(str(path))
