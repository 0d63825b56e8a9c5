"""The two-branch head's hyper-parameters, apart from core.learn.train so the CLI can show the
defaults without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Hyper-parameters. The paper used margin 0.05, K=10 and image-anchor weight 1.5; on these
    sets margin 0.2 and Adam lr 1e-3 were best (docs: OFFLINE_ASSETS, quick prototype).

    Dropout 0.7 after the hidden ReLU: mean validation R@sum over 3 seeds on the demo sets was
    339 (0.7) vs 334 (0.5), 329 (0.8) and 321 (none); batch size, margin 0.05-0.2, K=5 and the
    image-anchor weight moved it by less than the seed-to-seed spread (about 5).
    """

    hidden: int = 2048
    dim: int = 512
    margin: float = 0.2
    top_k: int = 10
    image_anchor_weight: float = 1.5
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.7
    batch_size: int = 128
    epochs: int = 30
    patience: int = 4
    seed: int = 0
    threads: int = 1  # fixed, so a seed gives the same weights on any machine (and small
    # batches run faster on one thread than on two contended ones)
