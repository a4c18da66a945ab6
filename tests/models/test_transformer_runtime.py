"""The transformer's serving runtime: length-sorted sub-batches, the ONNX export's cache
(keyed, atomic), the torch fallback and the settings wiring. No model weights here; the
ONNX-vs-torch agreement on the real weights is in test_onnx_encoder.py (``model``)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from models import encoders, onnx_export
from models.encoders import length_sorted_batches, transformer_encoder


def test_length_sorted_batches_cover_every_text_once_shortest_first():
    lengths = [50, 3, 400, 3, 0, 120, 7, 9, 260, 1]
    batches = length_sorted_batches(lengths, 3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(1 <= len(b) <= 3 for b in batches)
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)
    assert length_sorted_batches([], 16) == []


def test_a_long_text_gets_a_batch_of_its_own_and_padding_stays_bounded():
    lengths = [10] * 20 + [200, 12, 11]
    batches = length_sorted_batches(lengths, 16)
    assert [len(b) for b in batches] == [16, 6, 1] and batches[-1] == [20]
    rng = np.random.default_rng(3)
    lengths = [int(n) for n in rng.integers(1, 257, 500)]
    for batch in length_sorted_batches(lengths, 16, max_padding=0.15):
        real = sum(lengths[i] for i in batch)
        assert len(batch) <= 16
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 1.15 * real


def _fake_model(folder: Path, weights: bytes = b"weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "config.json").write_text('{"hidden_size": 384}')
    return folder


def test_the_export_is_keyed_by_the_weights_and_reused(tmp_path, monkeypatch):
    calls = []

    def fake_export(model_path, target):
        calls.append(target)
        onnx_export.write_atomically(target, lambda p: Path(p).write_bytes(b"graph"))
        return target

    monkeypatch.setattr(onnx_export, "export", fake_export)
    model, cache = _fake_model(tmp_path / "m"), tmp_path / "cache"
    first = onnx_export.ensure_exported(model, cache)
    assert first.read_bytes() == b"graph" and first.parent == cache / "onnx"
    assert onnx_export.ensure_exported(model, cache) == first
    assert len(calls) == 1  # the second worker reuses the file
    other = onnx_export.ensure_exported(_fake_model(tmp_path / "m2", b"other"), cache)
    assert other != first and len(calls) == 2  # other weights: another file
    assert onnx_export.ensure_exported(model, cache, force=True) == first
    assert len(calls) == 3


def test_the_key_covers_the_export_settings(tmp_path, monkeypatch):
    model = _fake_model(tmp_path / "m")
    before = onnx_export.export_key(model)
    monkeypatch.setattr(onnx_export, "OPSET", onnx_export.OPSET + 1)
    assert onnx_export.export_key(model) != before


def test_a_failed_write_leaves_no_file_and_no_temporary(tmp_path):
    target = tmp_path / "onnx" / "model.onnx"

    def half_then_fail(path):
        Path(path).write_bytes(b"half a gra")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        onnx_export.write_atomically(target, half_then_fail)
    assert list(target.parent.iterdir()) == []


def test_concurrent_writers_leave_one_whole_file(tmp_path):
    target = tmp_path / "onnx" / "model.onnx"
    started = threading.Barrier(4)
    payloads = [bytes([i]) * 200_000 for i in range(4)]

    def writer(payload):
        def write(path):
            started.wait()
            with open(path, "wb") as f:
                for k in range(0, len(payload), 1000):
                    f.write(payload[k:k + 1000])
        onnx_export.write_atomically(target, write)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in payloads
    assert [p.name for p in target.parent.iterdir()] == ["model.onnx"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


class _TorchStandIn:
    runtime = "torch"
    name, dim = "all-MiniLM-L6-v2", 384

    def encode(self, texts):
        return np.zeros((len(texts), self.dim), np.float32)


def test_onnx_failure_falls_back_to_torch_with_a_log_line(tmp_path, monkeypatch, caplog):
    def broken(cache_dir):
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(encoders, "OnnxTransformerEncoder", broken)
    monkeypatch.setattr(encoders, "TransformerEncoder", _TorchStandIn)
    with caplog.at_level(logging.WARNING, logger="models.encoders"):
        enc = transformer_encoder("onnx", tmp_path)
    assert isinstance(enc, _TorchStandIn)
    line = " ".join(r.getMessage() for r in caplog.records)
    assert "ONNX transformer unavailable" in line and "onnxruntime" in line
    assert "torch" in line


def test_torch_runtime_never_tries_onnx(tmp_path, monkeypatch):
    def must_not_run(cache_dir):
        raise AssertionError("onnx built for runtime=torch")

    monkeypatch.setattr(encoders, "OnnxTransformerEncoder", must_not_run)
    monkeypatch.setattr(encoders, "TransformerEncoder", _TorchStandIn)
    assert isinstance(transformer_encoder("torch", tmp_path), _TorchStandIn)
    assert isinstance(encoders.build_encoder("transformer", 0, tmp_path), _TorchStandIn)
    with pytest.raises(ValueError, match="unknown transformer runtime"):
        transformer_encoder("tensorrt", tmp_path)


def test_serving_goes_through_onnx_and_training_through_torch(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(encoders, "transformer_encoder",
                        lambda runtime, cache_dir: built.append(runtime) or _TorchStandIn())
    from models import serving_encoder
    from models.train import bundled_manifest, path_encoder

    recipe = bundled_manifest().recipes["transformer"]
    serving_encoder(tmp_path, recipe, 0, tmp_path)
    serving_encoder(tmp_path, recipe, 0, tmp_path, runtime="torch")
    path_encoder(recipe, tmp_path)
    assert built == ["onnx", "torch", "torch"]


def test_the_setting_reaches_the_classifier(monkeypatch):
    import models
    from streams.cli import _classifier
    from streams.settings import Settings

    seen = {}
    monkeypatch.setattr(models, "build_classifier",
                        lambda *a, **kw: seen.update(kw) or "clf")
    assert Settings().transformer_runtime == "onnx"
    _classifier(Settings(transformer_runtime="torch"))
    assert seen["transformer_runtime"] == "torch"


def test_the_bench_checks_the_served_encoder_against_torch():
    from bench.harness import evaluate_targets

    name = "served transformer encoder / torch (plain, as served before)"
    res = {"encoders": {"transformer": {"encode_eps": 50.0, "torch_encode_eps": 40.0,
                                        "torch_plain_encode_eps": 20.0}}}
    target = {t["target"]: t for t in evaluate_targets(res)}[name]
    assert target == {"target": name, "value": 2.5, "limit": ">= 2", "met": True}
    res["encoders"]["transformer"]["torch_plain_encode_eps"] = None
    assert {t["target"]: t for t in evaluate_targets(res)}[name]["met"] is None
