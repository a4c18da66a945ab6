"""``churn-detector train``, ``eval`` and ``build-static``: the model commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from streams.progress import progress
from streams.settings import Settings

#: Where train and eval look for the public labelled sets unless --public-data says otherwise:
#: relative to the current directory (a folder next to the checkout).
DEFAULT_DATA = Path("../shared/data")
PUBLIC_SETS = ("banking77", "bitext", "clinc150")
PUBLIC_DATA_HELP = (
    "Folder holding the public labelled sets (banking77/, bitext/, clinc150/; see "
    "docs/models.md, Training data). Default: ../shared/data, relative to the current "
    "directory; without it only the seed set and the taxonomy are used.")


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
        missing = [name for name in PUBLIC_SETS if not (root / name).is_dir()]
        if missing:
            raise click.ClickException(
                f"public data folder {root} lacks {', '.join(m + '/' for m in missing)} "
                f"(expected {', '.join(s + '/' for s in PUBLIC_SETS)}; see docs/models.md)")
        return root
    if path is not None:
        raise click.ClickException(f"public data folder {path} not found")
    click.echo(
        f"note: no public data at {root.resolve()} (the default --public-data, relative to "
        f"the current directory): using the seed set and the taxonomy only. Give "
        f"--public-data DIR with {', '.join(s + '/' for s in PUBLIC_SETS)} to train and "
        "evaluate on the public sets (docs/models.md, Training data).", err=True)
    return None


@click.command(name="train")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your labelled CSV/JSONL (text + intent/friction/sentiment/stage).")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=PUBLIC_DATA_HELP)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder; serve it with CHURN_MODEL_DIR=<out> (default with --data: "
                   "./model; without --data, -o or --into-package is required).")
@click.option("--into-package", is_flag=True,
              help="Without --data and -o: overwrite the installed package's bundled "
                   "artifacts (models/artifacts; for maintainers rebuilding a release).")
@click.option("--encoder", "kinds", multiple=True,
              type=click.Choice(["transformer", "static", "hashing"]),
              help="Encoder(s) to train heads for (default: transformer and static; "
                   "with --data: the configured encoder).")
def train_cmd(data: Path | None, public_data: Path | None, out: Path | None,
              into_package: bool, kinds: tuple[str, ...]) -> None:
    """Train the signal heads (safetensors + JSON metadata, deterministic).

    Without --data: trains the bundled heads from the seed set, the taxonomy examples and the
    public sets, into -o DIR (or, with --into-package, over the installed package's own
    artifacts). With --data: trains on your file (few-shot: ~8 examples per label work) and
    writes the model plus a cross-validated eval report; use it with CHURN_MODEL_DIR=<out>.
    """
    settings = _settings()
    from models import bundled_artifacts

    if data is None and out is None and not into_package:
        raise click.UsageError(
            f"without -o, train would overwrite the installed package's artifacts "
            f"({bundled_artifacts()}). Give -o DIR (then serve with CHURN_MODEL_DIR=DIR), "
            "or --into-package to rebuild the bundled artifacts on purpose.")
    from models.train import train_bundled, train_user

    if data is not None:
        kind = kinds[0] if kinds else ("static" if settings.encoder == "cascade"
                                       else settings.encoder)
        target = out or Path("model")
        try:
            with progress(f"train {kind} on {data.name}") as bar:
                bar.phase(f"training {kind} heads on {data} into {target}")
                result = train_user(data, target, settings.model_cache_dir, kind)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"model {result['model_version']} written to {target / kind}; "
                   f"report: {target / 'eval.md'}", err=True)
        for ds, rep in result["datasets"].items():
            for task, r in rep["systems"][kind].items():
                click.echo(f"{ds} {task}: macro-F1 {r['macro_f1']:.3f}")
        return
    root = _data_root(public_data)
    target = out or bundled_artifacts()
    kinds = kinds or ("transformer", "static")
    with progress("train") as bar:
        bar.phase(f"training {' and '.join(kinds)} heads into {target}")
        metas = train_bundled(root, target, settings.model_cache_dir, kinds)
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
        with progress("tune-static") as bar:
            bar.phase(f"tuning the static table on {len(texts)} texts into {out}")
            meta = adapt_static(texts, out, settings.model_cache_dir,
                                source_name=texts_file.name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"static table adapted on {meta['adapted_on']['texts']} texts "
               f"({meta['tokens']} tokens tuned) written to {out / 'static'}; serve it with "
               f"CHURN_MODEL_DIR={out}", err=True)


@click.command(name="eval")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=PUBLIC_DATA_HELP)
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

    root = _data_root(public_data)
    kinds = kinds or ("transformer", "static")
    with progress("eval") as bar:
        bar.phase(f"evaluating {', '.join(kinds)} (leave one dataset out) into {out}")
        result = run_eval(root, out, settings.model_cache_dir, kinds, limit=limit)
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

    with progress("build-static") as bar:
        bar.phase(f"distilling the static encoder into {settings.model_cache_dir}")
        path = build_static_model(settings.model_cache_dir, force=force)
    click.echo(str(path))
