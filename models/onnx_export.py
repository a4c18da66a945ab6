"""all-MiniLM-L6-v2 as an ONNX graph, exported once, locally, into the model cache.

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns the
sentence embedding as sentence-transformers computes it (mean of the token vectors under
the attention mask, then L2 norm), so serving needs only the tokenizer and onnxruntime.
The file (about 90 MB) is never committed: it is exported with ``torch.onnx.export`` from
the bundled weights into ``<cache_dir>/onnx/``, named by a hash of the weights and the
export settings, and written atomically (temporary file, then rename) so two workers
starting together never read a half-written file. Pre-export (the Dockerfile, ``make
onnx``) with ``python -m models.onnx_export [CACHE_DIR]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_WORD_PIECES = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
OPSET = 17
EXPORT_FORMAT = 1  # bump when the exported graph changes (inputs, pooling, outputs)
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
_HASHED_FILES = ("model.safetensors", "config.json")


def export_settings() -> dict[str, Any]:
    """What the exported graph depends on besides the weights."""
    return {"format": EXPORT_FORMAT, "opset": OPSET, "pooling": "mean", "normalize": True,
            "inputs": list(INPUT_NAMES), "output": OUTPUT_NAME}


def export_key(model_path: str | Path) -> str:
    """Hash of the model's weights and config and of :func:`export_settings`."""
    h = hashlib.sha256(json.dumps(export_settings(), sort_keys=True).encode())
    for name in _HASHED_FILES:
        with open(Path(model_path) / name, "rb") as f:
            h.update(name.encode() + b"\x00")
            h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()[:16]


def onnx_file(model_path: str | Path, cache_dir: Path) -> Path:
    """Where the export of ``model_path`` lives in ``cache_dir``."""
    return cache_dir / "onnx" / f"all-MiniLM-L6-v2-{export_key(model_path)}.onnx"


def export(model_path: str | Path, target: Path) -> Path:
    """Export the transformer and its pooling to ``target`` (atomically). Needs torch,
    transformers and onnx."""
    from models.encoders import stay_offline

    stay_offline()
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_path), local_files_only=True,
                                     attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # A padded example, so the traced graph keeps the attention mask's padding path.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    dynamic[OUTPUT_NAME] = {0: "batch"}

    def write(path: str) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on the mask helpers: expected
            torch.onnx.export(MeanPooled(bert).eval(), (ids, mask, torch.zeros_like(ids)), path,
                              input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                              dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)

    write_atomically(target, write)
    return target


def write_atomically(target: Path, write: Callable[[str], None]) -> None:
    """``write(path)`` to a temporary file beside ``target``, then rename it over ``target``:
    a reader sees no file or a whole one, never a partial one; a failed write leaves
    nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from other users of the cache
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_exported(model_path: str | Path, cache_dir: Path, force: bool = False) -> Path:
    """The export of ``model_path`` in ``cache_dir``, exporting it first if it is missing
    (or ``force``)."""
    target = onnx_file(model_path, cache_dir)
    if force or not target.is_file():
        export(model_path, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m models.onnx_export [CACHE_DIR]``: pre-export the bundled model."""
    from models.encoders import bundled_minilm_path, default_cache_dir

    args = sys.argv[1:] if argv is None else argv
    cache_dir = Path(args[0]) if args else default_cache_dir()
    print(ensure_exported(bundled_minilm_path(), cache_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
