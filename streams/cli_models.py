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
              type=click.Choice(["transformer", "static"]),
              help="Path(s) to train (default: both; with --data: the configured one, static "
                   "for the cascade).")
def train_cmd(data: Path | None, public_data: Path | None, out: Path | None,
              into_package: bool, kinds: tuple[str, ...]) -> None:
    """Train the signal heads from the declared recipes (safetensors + JSON, deterministic).

    Without --data: trains the bundled heads (manifest + heads) from the seed set, the
    taxonomy examples and every training domain, into -o DIR (or, with --into-package, over
    the installed package's own artifacts). With --data: adds your labelled rows to the
    bundled heads (about 8 examples per label help; they move the bundled model towards your
    rows instead of replacing it), writes the model folder and a 4-fold cross-validated
    report comparing the bundled and the adapted heads on your rows; serve it with
    CHURN_MODEL_DIR=<out>.
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
        path = kinds[0] if kinds else ("static" if settings.encoder in ("cascade", "hashing")
                                       else settings.encoder)
        target = out or Path("model")
        try:
            with progress(f"train {path} on {data.name}") as bar:
                result = train_user(data, target, settings.model_cache_dir, path,
                                    progress=bar.phase)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"model {result['model_version']} written to {target}; "
                   f"report: {target / 'eval.md'}", err=True)
        cv = result["cross_validation"]
        for measure in sorted(cv["adapted"]):
            click.echo(f"{measure}: bundled {cv['bundled'].get(measure, float('nan')):.3f}, "
                       f"with your rows {cv['adapted'][measure]:.3f}")
        return
    root = _data_root(public_data)
    target = out or bundled_artifacts()
    with progress("train") as bar:
        metas = train_bundled(root, target, settings.model_cache_dir,
                              kinds or ("transformer", "static"), progress=bar.phase)
    for kind, meta in metas.items():
        click.echo(f"{kind}: {meta.get('version', json.dumps(meta, default=str))}")


@click.command(name="eval")
@click.option("--public-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=PUBLIC_DATA_HELP)
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

    root = _data_root(public_data)
    with progress("eval") as bar:
        result = run_eval(root, out, settings.model_cache_dir, kinds or ("transformer", "static"),
                          limit=limit, adapt=not no_adapt, progress=bar.phase)
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

    with progress("build-static") as bar:
        bar.phase(f"distilling the static encoder into {settings.model_cache_dir}")
        path = build_static_model(settings.model_cache_dir, force=force)
    click.echo(str(path))
