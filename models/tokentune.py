"""The tuned static encoder: model2vec token vectors trained to reproduce MiniLM's sentence
embeddings (in the spirit of model2vec's "tokenlearn").

The distilled static model embeds every token alone, so it misses what a token means in the
company of others, and the static heads miss friction phrased unlike their training rows
(with confident, wrong probabilities). Here the vectors of the tokens seen in a training
corpus are tuned, together with a linear map into MiniLM's 384-d space, so that the mean of a
text's token vectors, mapped, points where MiniLM's embedding of the whole text points
(cosine loss, a pull towards the distilled vectors, a few epochs of Adam; about 15 s on two
cores for 20,000 texts). No transformer runs at serving time: encoding stays a token lookup,
a mean and one small matrix product, and the result lives in the transformer's embedding
space. The static recipe declares it (``Recipe.tuned_table``): ``train`` tunes the table on
the training texts (``tune_on``), every evaluation fold on its own training texts only, and
the static heads read the tuned embedding.

Artifact: ``tuned.safetensors`` (token ids, their tuned vectors as float16, the map as
float16) + ``tuned.json`` (encoder names, training settings, corpus hash, sha256). No
pickle; a file whose sha256 differs from the metadata is refused.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.encoders import normalise_rows
from models.heads import ArtifactError, read_checked, write_checked
from models.static import TokenSums

TUNED_FILE = "tuned.safetensors"
TUNED_META = "tuned.json"
FORMAT = "churn-tuned-static/1"


@dataclass(frozen=True)
class TuneConfig:
    epochs: int = 3
    learning_rate: float = 1e-3
    pull: float = 1e-3  # weight of the squared distance to the distilled vectors
    batch: int = 256
    seed: int = 0


@dataclass
class TunedTable:
    """Tuned vectors for some tokens of the base static model, and the map into the
    transformer's space."""

    token_ids: np.ndarray  # (n,) int32
    vectors: np.ndarray  # (n, static dim), float16 values
    matrix: np.ndarray  # (static dim, transformer dim), float16 values
    source: str  # base static encoder name
    target: str  # transformer encoder name
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha(self) -> str:
        """sha256 of the saved file (the same before saving: it is the blob's)."""
        saved = self.meta.get("files", {}).get(TUNED_FILE, {}).get("sha256")
        return str(saved) if saved else hashlib.sha256(self._blob()).hexdigest()

    def _blob(self) -> bytes:
        from safetensors.numpy import save

        return save({"token_ids": np.ascontiguousarray(self.token_ids, dtype=np.int32),
                     "vectors": np.ascontiguousarray(self.vectors, dtype=np.float16),
                     "matrix": np.ascontiguousarray(self.matrix, dtype=np.float16)})

    def save(self, folder: Path, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        meta = {**self.meta, **(extra_meta or {}), "format": FORMAT, "source": self.source,
                "target": self.target, "tokens": int(len(self.token_ids)),
                "shape": list(self.matrix.shape)}
        self.meta = write_checked(folder, TUNED_META, TUNED_FILE, self._blob(), meta)
        return self.meta


def has_tuned(folder: Path) -> bool:
    return (folder / TUNED_META).exists()


def load_tuned(folder: Path) -> TunedTable:
    """Load a tuned table, refusing a file whose sha256 differs from its metadata."""
    from safetensors.numpy import load

    meta, blob = read_checked(folder, TUNED_META, TUNED_FILE, (FORMAT,),
                              "tuned static table")
    t = load(blob)
    return TunedTable(t["token_ids"].astype(np.int32), t["vectors"].astype(np.float32),
                      t["matrix"].astype(np.float32), str(meta["source"]), str(meta["target"]),
                      meta)


def _mean_rows(table: np.ndarray, ids: Sequence[Sequence[int]]) -> np.ndarray:
    out = np.zeros((len(ids), table.shape[1]), np.float32)
    for i, row in enumerate(ids):
        if row:
            out[i] = table[np.asarray(row, np.int64)].mean(axis=0)
    return out


def train_tuned_table(tokenize: Any, base: np.ndarray, texts: Sequence[str],
                      targets: np.ndarray, init_matrix: np.ndarray, source: str, target: str,
                      cfg: TuneConfig | None = None, keep_ids: Any = ()) -> TunedTable:
    """Tune the vectors of the tokens in ``texts`` (and the map, starting at ``init_matrix``)
    so that ``normalise(mean(vectors) @ map)`` approaches ``targets`` (MiniLM embeddings of
    the same texts). ``tokenize(texts) -> list[list[int]]`` is the base model's tokenizer.
    To continue from an earlier table, pass the base with its rows patched in, its map as
    ``init_matrix`` and its token ids as ``keep_ids`` (kept in the result even when these
    texts do not use them). Deterministic for the same inputs on the same machine (fixed
    seed, one thread)."""
    import torch

    cfg = cfg or TuneConfig()
    if len(texts) != len(targets) or not len(texts):
        raise ValueError("need one target embedding per text, and some texts")
    ids = tokenize(list(texts))
    keep = np.array([i for i, row in enumerate(ids) if row], dtype=np.int64)
    if not len(keep):
        raise ValueError("no text has a known token")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(cfg.seed)
        start = torch.tensor(np.asarray(base, np.float32))
        table = torch.nn.EmbeddingBag.from_pretrained(start.clone(), freeze=False, mode="mean")
        mapping = torch.nn.Parameter(torch.tensor(np.asarray(init_matrix, np.float32)))
        opt = torch.optim.Adam([table.weight, mapping], lr=cfg.learning_rate)
        goal = torch.tensor(np.asarray(targets, np.float32))
        rng = np.random.default_rng(cfg.seed)
        for _ in range(cfg.epochs):
            order = rng.permutation(keep)
            for b in range(0, len(order), cfg.batch):
                idx = order[b:b + cfg.batch]
                flat = torch.tensor(np.concatenate([ids[k] for k in idx]), dtype=torch.long)
                offsets = torch.tensor(np.cumsum([0] + [len(ids[k]) for k in idx[:-1]]),
                                       dtype=torch.long)
                out = table(flat, offsets) @ mapping
                loss = 1 - torch.nn.functional.cosine_similarity(out, goal[idx]).mean()
                used = torch.unique(flat)
                loss = loss + cfg.pull * ((table.weight[used] - start[used]) ** 2).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        tuned = table.weight.detach().numpy()
        matrix = mapping.detach().numpy()
    finally:
        torch.set_num_threads(threads)
    token_ids = np.unique(np.concatenate([np.asarray(ids[k], np.int64) for k in keep]
                                         + [np.asarray(keep_ids, np.int64)]))
    vectors = np.asarray(tuned[token_ids], np.float16).astype(np.float32)
    corpus = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    return TunedTable(token_ids.astype(np.int32), vectors,
                      np.asarray(matrix, np.float16).astype(np.float32), source, target,
                      {"config": cfg.__dict__, "corpus": {"texts": len(texts),
                                                          "sha256": corpus}})


RIDGE = 1.0  # the starting map: ridge regression from static to transformer embeddings


def tune_on(static: Any, target: Any, texts: Sequence[str], cfg: TuneConfig | None = None
            ) -> TunedTable:
    """A table tuned on ``texts`` (deduplicated, sorted): ``static`` is the base static
    encoder (``tokenize``, ``table``, ``encode``), ``target`` the encoder whose embeddings
    the mapped means learn to reproduce (the transformer, disk-cached in training)."""
    unique = sorted(set(texts))
    goal = np.asarray(target.encode(unique), np.float64)
    base = np.asarray(static.encode(unique), np.float64)
    init = np.linalg.solve(base.T @ base + RIDGE * np.eye(base.shape[1]), base.T @ goal)
    return train_tuned_table(static.tokenize, static.table, unique, goal,
                             init.astype(np.float32), static.name, target.name, cfg)


def patched_table(base: np.ndarray, table: TunedTable) -> np.ndarray:
    """The base token vectors with the table's tuned rows in place."""
    patched = np.array(base, np.float32, copy=True)
    patched[table.token_ids] = table.vectors
    return patched


def tuned_embeddings(tokenize: Any, base: np.ndarray, table: TunedTable,
                     texts: Sequence[str]) -> np.ndarray:
    """Embeddings of ``texts`` by a tuned table over ``base`` (for evaluation folds)."""
    return normalise_rows(_mean_rows(patched_table(base, table), tokenize(list(texts)))
                      @ table.matrix)


class TunedStaticEncoder:
    """Encoder: the base static model's tokenizer with the tuned vectors, mapped into the
    transformer's space (``dim`` = the transformer's)."""

    def __init__(self, cache_dir: Path, table: TunedTable, model: Any = None) -> None:
        from model2vec import StaticModel

        from models.static import build_static_model

        if model is None:
            model = StaticModel.from_pretrained(str(build_static_model(cache_dir)))
        if model.embedding.shape[1] != table.matrix.shape[0]:
            raise ArtifactError(f"tuned table is for {table.matrix.shape[0]}-d static vectors; "
                                f"the static model has {model.embedding.shape[1]}")
        self._model = StaticModel(patched_table(model.embedding, table), model.tokenizer,
                                  normalize=False)
        self._sums = TokenSums(self._model)
        self._matrix = table.matrix
        self.dim = int(table.matrix.shape[1])
        self.name = f"{table.source}-tuned-{table.sha[:10]}"
        self._lock = threading.Lock()

    @classmethod
    def from_base(cls, base: Any, table: TunedTable) -> TunedStaticEncoder:
        """Over an already loaded static encoder (``models.static.StaticEncoder``)."""
        return cls(Path("."), table, model=base._model)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The mapped mean of each text's token vectors, as model2vec's ``encode`` averages
        them (:class:`models.static.TokenSums`), scaled to unit length."""
        return self.encode_pieces(texts, {})

    def encode_pieces(self, texts: Sequence[str],
                      wholes: Mapping[int, Sequence[int]]) -> np.ndarray:
        """``encode(texts)``, a long text's token mean built from its windows' tokens where
        they are provably the same tokens (:class:`models.static.TokenSums`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            mean = self._sums.means(texts, wholes)
        return normalise_rows(mean @ self._matrix)
