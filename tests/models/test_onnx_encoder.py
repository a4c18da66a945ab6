"""The served ONNX transformer against the torch one, on the real all-MiniLM-L6-v2 weights:
the same sentence embeddings (cosine >= 0.9999) on short, long, empty, emoji and non-Latin
texts, rows in the callers' order, the export reused from the cache."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytestmark = pytest.mark.model

TEXTS = [
    "",
    " ",
    "ok",
    "Please close my account, I've moved to another bank.",
    "😀😀 the new app is great 🎉🎉",
    "🤬🤬🤬",
    "Ich kündige mein Abo zum Monatsende, der Support antwortet nie.",
    "我要取消订阅，客服太差了。",
    "أريد إلغاء اشتراكي فورا",
    "Je vais résilier mon contrat si la facture n'est pas corrigée.",
    "ok  fine\n\tthanks   ",
    "refund " * 300,  # > 256 word pieces: truncated like sentence-transformers does
    ("Agent: thanks for calling, how can I help? Customer: the invoice charged me twice "
     "again and this is the third month in a row, I want to talk about cancelling. ") * 12,
    "a" * 5000,
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_encoder(cache_dir):
    from models.encoders import OnnxTransformerEncoder

    return OnnxTransformerEncoder(cache_dir)


@pytest.fixture(scope="module")
def torch_encoder():
    from models.encoders import TransformerEncoder

    return TransformerEncoder()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1)
                                              * np.linalg.norm(b, axis=1)))


def test_texts_over_the_limit_are_cut_at_256_word_pieces(onnx_encoder):
    pieces = onnx_encoder._tokenizer.encode("refund " * 300).ids
    assert len(pieces) == 256 and pieces[0] == 101 and pieces[-1] == 102


def test_onnx_gives_the_torch_embeddings(onnx_encoder, torch_encoder):
    got, want = onnx_encoder.encode(TEXTS), torch_encoder.encode(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert _cosines(got, want).min() >= 0.9999


def test_onnx_matches_sentence_transformers_tokenisation(onnx_encoder, torch_encoder):
    tokenized = torch_encoder._model.tokenize(TEXTS)
    for i, text in enumerate(TEXTS):
        theirs = tokenized["input_ids"][i][tokenized["attention_mask"][i].bool()].tolist()
        assert onnx_encoder._tokenizer.encode(text).ids == theirs, text[:40]


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_rows_come_back_in_the_callers_order(runtime, onnx_encoder, torch_encoder):
    enc = onnx_encoder if runtime == "onnx" else torch_encoder
    texts = TEXTS * 3
    random.Random(5).shuffle(texts)
    alone = np.stack([enc.encode([t])[0] for t in TEXTS])
    batch = enc.encode(texts)
    want = alone[[TEXTS.index(t) for t in texts]]
    assert _cosines(batch, want).min() >= 0.9999
    assert enc.encode([]).shape == (0, 384)


def test_sorted_sub_batches_keep_the_unsorted_embeddings(torch_encoder):
    """The torch encoder before length sorting: one sentence-transformers call per
    micro-batch of 64."""
    texts = (TEXTS * 5)[:64]
    before = torch_encoder._model.encode(texts, batch_size=64, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
    assert _cosines(torch_encoder.encode(texts), before).min() >= 0.9999


def test_the_export_is_reused_and_a_broken_file_is_exported_again(cache_dir, onnx_encoder,
                                                                   monkeypatch):
    from models import onnx_export
    from models.encoders import OnnxTransformerEncoder

    path = onnx_encoder.onnx_path
    assert path.parent == cache_dir / "onnx" and path.stat().st_size > 50_000_000
    real_export = onnx_export.export
    calls = []
    monkeypatch.setattr(onnx_export, "export",
                        lambda *a: calls.append(a) or real_export(*a))
    again = OnnxTransformerEncoder(cache_dir)
    assert again.onnx_path == path and calls == []
    path.write_bytes(b"not a graph")  # e.g. a copy cut short
    repaired = OnnxTransformerEncoder(cache_dir)
    assert len(calls) == 1 and path.stat().st_size > 50_000_000
    assert _cosines(repaired.encode(TEXTS[:4]), onnx_encoder.encode(TEXTS[:4])).min() >= 0.9999


def test_the_served_transformer_path_runs_on_onnx(cache_dir):
    from models import build_classifier
    from models.encoders import OnnxTransformerEncoder, TransformerEncoder

    served = build_classifier("transformer", cache_size=0, cache_dir=cache_dir)
    assert isinstance(served.encoder, OnnxTransformerEncoder)
    torch_path = build_classifier("transformer", cache_size=0, cache_dir=cache_dir,
                                  transformer_runtime="torch")
    assert isinstance(torch_path.encoder, TransformerEncoder)
