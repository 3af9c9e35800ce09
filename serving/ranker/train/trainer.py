"""Fine-tune the cross-encoder on pairs built from the code set, then calibrate it and write the artifact.

Recipe (``RECIPE_VERSION``): MiniLM cut to ``n_layers``, word/position embeddings frozen; groups of one
positive and ``n_neg`` negatives; loss = softmax cross-entropy over the group (rank the right code
first) + ``bce_weight`` x binary cross-entropy per pair (keep logits on one scale across queries, so a
threshold means something); AdamW, linear warm-up then linear decay; stops at ``steps`` or when the time
budget is spent, whichever is first. Then, on held-out code families, the coder's own candidate
pipeline (retriever → fused ranker → top ``top_k``) is scored by the fused ranker, the cross-encoder and
the calibrated combination, and the combination's logistic weights are fitted on one half and reported
on the other.
"""

from __future__ import annotations

import logging
import math
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from medcore.refdata.icd10cm import CodeSet
from serving.ranker.cross import (
    RECIPE_VERSION,
    Calibration,
    CrossScorer,
    build_model,
    doc_text,
    freeze_embeddings,
    save_artifact,
    tokenizer,
)
from serving.ranker.train.pairs import Group, PairBuilder, family

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    out: Path
    seed: int = 13
    n_layers: int = 4
    max_length: int = 48
    n_neg: int = 7
    groups_per_step: int = 8
    steps: int = 3000
    lr: float = 6e-5
    head_lr: float = 2e-3
    warmup: int = 100
    bce_weight: float = 0.5
    max_minutes: float = 60.0
    limit_examples: int | None = None
    val_queries: int = 1200
    top_k: int = 8
    threads: int = 2
    dense: bool | None = None  # the retriever used for validation candidates (None: the settings' default)


@dataclass
class TrainReport:
    out: Path
    seconds: float
    steps: int
    manifest: dict = field(default_factory=dict)
    model: object = None  # the trained model, in memory (fp32)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _lr_factor(step: int, cfg: TrainConfig, progress: float) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    return max(0.02, 1.0 - progress)


def _batch(tok, groups: list[Group], cs: CodeSet, max_length: int):
    queries, docs = [], []
    for g in groups:
        for code in [g.positive, *g.negatives]:
            queries.append(g.query)
            docs.append(doc_text(cs, code))
    return tok(queries, docs, truncation=True, max_length=max_length, padding=True, return_tensors="pt")


def train(cs: CodeSet, cfg: TrainConfig, retriever=None) -> TrainReport:
    """Build the data, train, validate, calibrate and write the artifact to ``cfg.out``."""
    t0 = time.perf_counter()
    deadline = t0 + cfg.max_minutes * 60
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if retriever is None:
        retriever = _retriever(cs, cfg.dense)
    builder = PairBuilder(cs, cfg.seed, bm25=retriever.bm25)
    train_ex = builder.examples("train", limit=cfg.limit_examples)
    val_ex = builder.examples("val", limit=cfg.val_queries if cfg.limit_examples else None)
    n_train_all = len(train_ex)
    need = cfg.steps * cfg.groups_per_step
    limit = min(cfg.limit_examples or need, need)
    train_ex = train_ex[:limit]
    groups = builder.groups(train_ex, n_neg=cfg.n_neg)
    val_ex = val_ex[: cfg.val_queries]
    t_data = time.perf_counter() - t0
    _say(f"data: {n_train_all} training examples built, {len(groups)} groups used, {len(val_ex)} held-out "
         f"queries ({t_data:.0f} s)")

    tok = tokenizer()
    model = build_model(cfg.n_layers, cfg.seed)
    freeze_embeddings(model)
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("head.")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}], weight_decay=0.01)
    base_lrs = [g["lr"] for g in opt.param_groups]
    # leave time for validation, calibration and writing: about a tenth of the budget, at most 6 minutes
    reserve = min(6 * 60, 0.12 * cfg.max_minutes * 60)
    train_deadline = deadline - reserve
    t_train = time.perf_counter()
    budget = max(1.0, train_deadline - t_train)
    model.train()
    step, losses, rng = 0, [], random.Random(cfg.seed)
    order = list(range(len(groups)))
    n_group = 1 + cfg.n_neg
    while step < cfg.steps and time.perf_counter() < train_deadline and groups:
        at = (step * cfg.groups_per_step) % len(order)
        if at < cfg.groups_per_step and step:
            rng.shuffle(order)
        batch = [groups[i] for i in order[at : at + cfg.groups_per_step]]
        batch = [g for g in batch if len(g.negatives) == cfg.n_neg]
        if not batch:
            step += 1
            continue
        enc = _batch(tok, batch, cs, cfg.max_length)
        logits = model(enc["input_ids"], enc["attention_mask"], enc.get("token_type_ids")).view(len(batch), n_group)
        target = torch.zeros(len(batch), dtype=torch.long)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1.0
        loss = torch.nn.functional.cross_entropy(logits, target) + cfg.bce_weight * (
            torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor(float(cfg.n_neg)))
        )
        progress = max(step / cfg.steps, (time.perf_counter() - t_train) / budget)
        for g, lr in zip(opt.param_groups, base_lrs, strict=True):
            g["lr"] = lr * _lr_factor(step, cfg, progress)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(body + head, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % 100 == 0:
            rate = step * cfg.groups_per_step * n_group / (time.perf_counter() - t_train)
            _say(f"step {step}/{cfg.steps} loss {np.mean(losses[-100:]):.3f} ({rate:.0f} pairs/s, "
                 f"{(time.perf_counter() - t0) / 60:.1f} min)")
    train_seconds = time.perf_counter() - t_train
    model.eval()
    scorer = CrossScorer(model, tok, cfg.max_length)
    val = validate(cs, scorer, builder, val_ex, retriever, cfg)
    metrics = val.pop("metrics")
    total = time.perf_counter() - t0
    manifest = {
        "recipe_version": RECIPE_VERSION,
        "seed": cfg.seed,
        "n_layers": cfg.n_layers,
        "max_length": cfg.max_length,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k != "out"},
        "code_set": cs.release,
        "data": {
            "training_examples_built": n_train_all,
            "training_groups_used": len(groups),
            "groups_seen": step * cfg.groups_per_step,
            "epochs": round(step * cfg.groups_per_step / max(1, len(groups)), 3),
            "pairs_per_group": n_group,
            "sources": _count(g.source.split("+")[0] for g in groups),
            "variants": _count(g.source.partition("+")[2] or "plain" for g in groups),
            "heldout_queries": len(val_ex),
        },
        "steps": step,
        "final_loss": round(float(np.mean(losses[-100:])), 4) if losses else None,
        "calibration": val["calibration"],
        "validation": metrics,
        "seconds": {"data": round(t_data, 1), "train": round(train_seconds, 1), "total": round(total, 1)},
        "stopped_by": "steps" if step >= cfg.steps else "time budget",
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    save_artifact(model, cfg.out, manifest)
    _say(f"wrote {cfg.out} after {total / 60:.1f} min ({step} steps)")
    return TrainReport(cfg.out, total, step, manifest, model)


def recalibrate(cs: CodeSet, cfg: TrainConfig, retriever=None) -> TrainReport:
    """Refit the calibration (and the validation metrics) of the artifact in ``cfg.out`` without
    retraining: for when the fused ranker, whose score the calibration reads, has changed."""
    import json

    from serving.ranker.cross import MANIFEST_FILE, load_model

    t0 = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    model, manifest = load_model(cfg.out)
    seed = int(manifest.get("seed", cfg.seed))
    cfg = TrainConfig(**{**asdict(cfg), "seed": seed, "max_length": int(manifest.get("max_length", cfg.max_length)),
                         "n_layers": int(manifest["n_layers"])})
    retriever = retriever or _retriever(cs, cfg.dense)
    builder = PairBuilder(cs, seed, bm25=retriever.bm25)
    builder.examples("train", limit=cfg.limit_examples)  # fills the text → codes map the negatives avoid
    val_ex = builder.examples("val", limit=cfg.val_queries if cfg.limit_examples else None)[: cfg.val_queries]
    val = validate(cs, CrossScorer(model, tokenizer(), cfg.max_length), builder, val_ex, retriever, cfg)
    manifest["calibration"] = val["calibration"]
    manifest["validation"] = val["metrics"]
    manifest["recalibrated"] = {"seconds": round(time.perf_counter() - t0, 1), "code_set": cs.release,
                                "heldout_queries": len(val_ex)}
    (cfg.out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _say(f"recalibrated {cfg.out}: {manifest['calibration']}")
    return TrainReport(cfg.out, time.perf_counter() - t0, int(manifest.get("steps", 0)), manifest, model)


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return dict(sorted(out.items()))


def _retriever(cs: CodeSet, dense: bool | None):
    from medcore.settings import get_settings
    from serving.retriever.hybrid import HybridRetriever

    s = get_settings()
    return HybridRetriever.load_or_build(cs, Path(s.index_dir), dense=s.dense_enabled if dense is None else dense)


def validate(cs: CodeSet, scorer: CrossScorer, builder: PairBuilder, val_ex, retriever, cfg: TrainConfig) -> dict:
    """Held-out metrics and the fitted calibration (see the module docstring)."""
    from serving.ranker.fused import FusedRanker

    metrics: dict = {}
    if not val_ex:
        return {"metrics": metrics, "calibration": asdict(Calibration())}
    # 1) the positive against its own negatives (siblings, BM25, random): the training task
    vgroups = [g for g in builder.groups(val_ex, n_neg=cfg.n_neg) if len(g.negatives) == cfg.n_neg]
    pairs = [(g.query, doc_text(cs, c)) for g in vgroups for c in [g.positive, *g.negatives]]
    lg = scorer.logits(pairs).reshape(len(vgroups), -1)
    metrics["group_top1"] = round(float(np.mean(np.argmax(lg, axis=1) == 0)), 4) if len(vgroups) else None
    sib = [i for i, g in enumerate(vgroups) if g.negatives and g.negatives[0][:3] == g.positive[:3]]
    if sib:
        metrics["positive_above_first_sibling"] = round(float(np.mean(lg[sib, 0] > lg[sib, 1])), 4)

    # 2) the coder's own candidates: retriever → fused ranker → top_k → rerank
    ranker = FusedRanker(cs, dense_on=retriever.dense is not None, idf=retriever.idf)
    hits = retriever.search([e.query for e in val_ex], k=50)
    rows = []  # (query index, fused score, label, pair)
    for qi, (ex, cands) in enumerate(zip(val_ex, hits, strict=True)):
        ranked = ranker.score(ex.query, cands)[: cfg.top_k]
        fam = family(cs, ex.code)
        for r in ranked:
            rows.append((qi, r.score, float(family(cs, r.code) == fam), (ex.query, doc_text(cs, r.code))))
    if not rows:
        return {"metrics": metrics, "calibration": asdict(Calibration())}
    q = np.array([r[0] for r in rows])
    fused = np.array([r[1] for r in rows])
    label = np.array([r[2] for r in rows])
    logit = scorer.logits([r[3] for r in rows])
    half = q % 2 == 0
    cal = fit_calibration(logit[half], fused[half], label[half])
    conf = cal(logit, fused)
    test = ~half
    answerable = [i for i in np.unique(q[test]) if label[q == i].any()]
    metrics["candidates_contain_positive"] = round(len(answerable) / max(1, len(np.unique(q[test]))), 4)

    def top1(score) -> float:
        return round(float(np.mean([label[q == i][np.argmax(score[q == i])] for i in answerable])), 4)

    if answerable:
        metrics["rerank_top1_fused"] = top1(fused)
        metrics["rerank_top1_cross"] = top1(logit)
        metrics["rerank_top1_combined"] = top1(conf)
    metrics["ece_combined"] = round(_ece(conf[test], label[test]), 4)
    metrics["ece_fused"] = round(_ece(fused[test], label[test]), 4)
    metrics["heldout_queries"] = len(val_ex)
    _say("validation: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))
    return {"metrics": metrics, "calibration": asdict(cal)}


def fit_calibration(logit: np.ndarray, fused: np.ndarray, label: np.ndarray, l2: float = 1e-3,
                    iters: int = 100) -> Calibration:
    """Logistic regression of the label on (cross logit, fused score): Newton steps with backtracking
    on the mean log-loss plus a small L2 penalty on the two slopes (held-out candidates are often
    separable, and an unpenalised fit would run off to infinity)."""
    if len(label) == 0 or label.min() == label.max():
        return Calibration()
    x = np.column_stack([logit, fused, np.ones_like(logit)]).astype(np.float64)
    y = label.astype(np.float64)
    n = len(y)
    reg = np.array([l2, l2, 0.0])

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(reg * w * w))

    w = np.array([0.0, 0.0, 0.0])
    cur = loss(w)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        g = x.T @ (p - y) / n + reg * w
        h = (x * (p * (1 - p))[:, None]).T @ x / n + np.diag(reg) + 1e-9 * np.eye(3)
        step = np.linalg.solve(h, g)
        t = 1.0
        while t > 1e-4 and loss(w - t * step) > cur:
            t /= 2
        new = w - t * step
        new_loss = loss(new)
        if new_loss > cur or abs(cur - new_loss) < 1e-10:
            break
        w, cur = new, new_loss
    return Calibration(a=round(float(w[0]), 6), b=round(float(w[1]), 6), c=round(float(w[2]), 6))


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    if len(p) == 0:
        return math.nan
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).sum() for b in range(bins)
                     if (idx == b).any()) / len(p))
