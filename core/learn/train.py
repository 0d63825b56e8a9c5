"""Two-branch image-text embedding (Wang et al., "Learning Two-Branch Neural Networks for
Image-Text Matching", TPAMI 2018) on frozen features: model, ranking loss and training loop.

Each branch is Linear -> ReLU -> Linear -> BatchNorm, then L2 normalisation into a shared
space. The loss is the bidirectional hinge ranking loss over in-batch negatives, summed over
the top-K hardest negatives of every anchor; pairs that are really positives (another caption
of the same image, or an identical caption of another image) are never used as negatives.
Training is deterministic for a seed, and keeps the epoch with the best validation Recall@sum.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.atomic import write_text, write_with
from core.encoders.twobranch_head import CONFIG, WEIGHTS, WEIGHTS_NPZ, Head, check_folder
from core.errors import UserError
from core.eval.metrics import evaluate_retrieval
from core.ingest.sidecar import build_queries, caption_key
from core.learn.features import IMAGE_SPEC, TEXT_MODEL, SetFeatures
from core.learn.train_config import TrainConfig

CURVES = "curves.png"
Log = Callable[[str], None]


class Branch(nn.Module):
    """Standardised input -> FC -> ReLU -> FC -> BatchNorm -> unit length."""

    def __init__(self, in_dim: int, hidden: int, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.BatchNorm1d(dim))

    def set_input_stats(self, x: torch.Tensor) -> None:
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net((x - self.mean) / self.std), dim=-1)


class TwoBranchNet(nn.Module):
    def __init__(self, image_dim: int = 1280, text_dim: int = 384, hidden: int = 2048,
                 dim: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.image = Branch(image_dim, hidden, dim, dropout)
        self.text = Branch(text_dim, hidden, dim, dropout)

    @torch.inference_mode()
    def embed(self, branch: str, x: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Eval-mode unit vectors for a feature array, as float32 numpy."""
        was_training = self.training
        self.eval()
        net = self.image if branch == "image" else self.text
        out = [net(torch.from_numpy(np.ascontiguousarray(x[i:i + batch], np.float32)))
               for i in range(0, len(x), batch)]
        self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros((0, net.net[-1].num_features),
                                                           np.float32)


def ranking_loss(img: torch.Tensor, txt: torch.Tensor, positive: torch.Tensor, margin: float,
                 top_k: int, image_anchor_weight: float) -> torch.Tensor:
    """Bidirectional top-K hinge loss. Row a of `img`/`txt` is the pair a; `positive[a, b]`
    says text a matches image b (the diagonal always does) and is never a negative."""
    s = txt @ img.T  # s[a, b]: text a against image b
    pos = s.diagonal()
    k = max(1, min(top_k, s.shape[0] - 1))
    text_anchor = (margin + s - pos[:, None]).clamp_min(0).masked_fill(positive, 0)
    image_anchor = (margin + s - pos[None, :]).clamp_min(0).masked_fill(positive, 0)
    lt = text_anchor.topk(k, dim=1).values.sum(1).mean()
    li = image_anchor.topk(k, dim=0).values.sum(0).mean()
    return lt + image_anchor_weight * li


@dataclass
class TrainingPairs:
    """All (image, caption) pairs of the training sets, with what counts as a positive."""

    pooled: np.ndarray
    text_vecs: np.ndarray
    owner: np.ndarray  # image of each text
    group: np.ndarray  # caption_key id of each text
    positive_keys: np.ndarray  # sorted group * n_images + image of every true pair

    def batch_positive(self, rows: np.ndarray) -> torch.Tensor:
        """Mask[a, b]: text of pair a is a caption of the image of pair b."""
        n = self.pooled.shape[0]
        keys = self.group[rows][:, None] * n + self.owner[rows][None, :]
        return torch.from_numpy(np.isin(keys, self.positive_keys))


def training_pairs(features: Sequence[SetFeatures]) -> TrainingPairs:
    pooled, vecs, owners, texts, offset = [], [], [], [], 0
    for f in features:
        pooled.append(f.pooled)
        vecs.append(f.text_vecs)
        owners.append(f.text_owner + offset)
        texts += f.texts
        offset += f.pooled.shape[0]
    if not texts:
        raise UserError("no training pairs: the sets have no 'train' split rows")
    groups: dict[str, int] = {}
    group = np.array([groups.setdefault(caption_key(t), len(groups)) for t in texts], np.int64)
    owner = np.concatenate(owners).astype(np.int64)
    keys = np.unique(group * offset + owner)
    return TrainingPairs(np.concatenate(pooled), np.concatenate(vecs), owner, group, keys)


def validate(net: TwoBranchNet, val: SetFeatures) -> dict:
    """Text->image and image->text R@1/5/10 and their sum (x100, the usual R@sum)."""
    q = build_queries(val.texts, val.text_owner, val.pooled.shape[0])
    img = net.embed("image", val.pooled)
    txt = net.embed("text", val.text_vecs[q.first])
    t2i = evaluate_retrieval(txt, img, q.images_of_text)
    i2t = evaluate_retrieval(img, txt, q.texts_of_image)
    rsum = 100 * sum(m[f"R@{k}"] for m in (t2i, i2t) for k in (1, 5, 10))
    return {"t2i": t2i, "i2t": i2t, "rsum": float(rsum)}


@dataclass
class TrainResult:
    net: TwoBranchNet
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


def _seed(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    return torch.Generator().manual_seed(seed)


def train(train_sets: Sequence[SetFeatures], val_sets: dict[str, SetFeatures],
          config: TrainConfig | None = None, log: Log | None = None) -> TrainResult:
    """Adam on the ranking loss; early stopping on the mean validation R@sum over the sets."""
    cfg = config or TrainConfig()
    if not val_sets:
        raise UserError("no validation rows ('val' split) in any set: early stopping needs them")
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        return _train(train_sets, val_sets, cfg, log)
    finally:
        torch.set_num_threads(previous)


def _train(train_sets: Sequence[SetFeatures], val_sets: dict[str, SetFeatures],
           cfg: TrainConfig, log: Log | None) -> TrainResult:
    started = time.perf_counter()
    gen = _seed(cfg.seed)
    pairs = training_pairs(train_sets)
    net = TwoBranchNet(pairs.pooled.shape[1], pairs.text_vecs.shape[1], cfg.hidden, cfg.dim,
                       cfg.dropout)
    pooled, text_vecs = torch.from_numpy(pairs.pooled), torch.from_numpy(pairs.text_vecs)
    net.image.set_input_stats(pooled)
    net.text.set_input_stats(text_vecs)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    result = TrainResult(net, cfg)
    best, best_state, stale = -1.0, copy.deepcopy(net.state_dict()), 0
    n_pairs = len(pairs.owner)
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n_pairs, generator=gen).numpy()
        losses = []
        for start in range(0, n_pairs, cfg.batch_size):
            rows = order[start:start + cfg.batch_size]
            if len(rows) < 2:  # BatchNorm and in-batch negatives need two pairs
                continue
            img = net.image(pooled[pairs.owner[rows]])
            txt = net.text(text_vecs[rows])
            loss = ranking_loss(img, txt, pairs.batch_positive(rows), cfg.margin, cfg.top_k,
                                cfg.image_anchor_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        val = {name: validate(net, v) for name, v in val_sets.items()}
        mean_rsum = float(np.mean([v["rsum"] for v in val.values()]))
        entry = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else 0.0,
                 "val_rsum": mean_rsum, "val": val,
                 "seconds": round(time.perf_counter() - t0, 2)}
        result.history.append(entry)
        if log:
            log(f"epoch {epoch:>2}  loss {entry['train_loss']:.4f}  val R@sum {mean_rsum:.1f}")
        if mean_rsum > best:
            best, best_state, stale, result.best_epoch = (
                mean_rsum, copy.deepcopy(net.state_dict()), 0, epoch)
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    result.seconds = time.perf_counter() - started
    return result


def save_model(result: TrainResult, out: str | Path, sets: dict[str, dict]) -> Path:
    """weights.pt, config.json (dims, feature specs, hyper-parameters, history), curves.png."""
    from core.learn.curves import draw_curves

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = result.net
    config = {
        "model": "twobranch",
        "paper": "Wang et al., Learning Two-Branch Neural Networks for Image-Text Matching, "
                 "TPAMI 2018",
        "image_features": IMAGE_SPEC, "text_features": TEXT_MODEL,
        "image_dim": int(net.image.mean.shape[0]), "text_dim": int(net.text.mean.shape[0]),
        "hyperparameters": asdict(result.config),
        "best_epoch": result.best_epoch,
        "best_val_rsum": next((h["val_rsum"] for h in result.history
                               if h["epoch"] == result.best_epoch), None),
        "history": result.history,
        "sets": sets,
        "train_seconds": round(result.seconds, 1),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
    }
    write_with(out / WEIGHTS, lambda tmp: torch.save(net.state_dict(), tmp))
    save_numpy_weights(net, out)
    write_text(out / CONFIG, json.dumps(config, indent=2))
    draw_curves(result.history, result.best_epoch).save(out / CURVES)
    return out


def save_numpy_weights(net: TwoBranchNet, out: Path) -> Head:
    """The state dict as numpy arrays (weights.npz), for torch-free querying."""
    head = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()
            if k.split(".")[-1] != "num_batches_tracked"}
    with contextlib.suppress(OSError):  # a read-only model folder costs converting again later
        write_with(out / WEIGHTS_NPZ, lambda tmp: np.savez(tmp, **head))
    return head


def load_model(path: str | Path) -> tuple[TwoBranchNet, dict]:
    """The trained net (eval mode) and its config; a clear error when the folder is wrong."""
    path = check_folder(path)
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
        hp = config["hyperparameters"]
        net = TwoBranchNet(config["image_dim"], config["text_dim"], hp["hidden"], hp["dim"],
                           hp.get("dropout", 0.0))
        net.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
    except (OSError, KeyError, ValueError, RuntimeError, json.JSONDecodeError) as e:
        raise UserError(f"two-branch model at {path} is unreadable ({type(e).__name__}: {e}); "
                        "train it again") from e
    return net.eval(), config


def convert_torch_folder(path: str | Path) -> tuple[Head, dict]:
    """A folder trained before weights.npz existed: its numpy head (written beside weights.pt
    when the folder is writable) and config. Lives here, with torch, so the query-time head
    (core.encoders.twobranch_head) never imports training code."""
    net, config = load_model(path)
    return save_numpy_weights(net, Path(path)), config
