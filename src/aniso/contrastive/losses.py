"""The contrastive objectives of the book: InfoNCE (SimCSE) and alignment + uniformity.

Introduced in chapter "SimCSE" (notebooks/04_simcse.ipynb) and used in chapter
"Alignment and uniformity" (notebooks/05_alignment_uniformity.ipynb).

* :func:`info_nce` is the SimCSE objective written plainly (Gao et al. 2021,
  Eq. 1 and, with hard negatives, Eq. 5); training itself uses
  sentence-transformers' ``MultipleNegativesRankingLoss``, which the tests
  check against it.
* :func:`align_uniform_loss` is the objective of Wang & Isola (2020), and
  :class:`AlignUniformLoss` wraps it as a sentence-transformers loss.
* :func:`shared_mask_loss` builds SimCSE's "fixed 0.1" ablation (one dropout mask for both
  views; chapter "Reproducing the numbers").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["info_nce", "align_uniform_loss", "AlignUniformLoss", "shared_mask_loss"]


def info_nce(z1, z2, temperature: float = 0.05, hard_negatives=None):
    """InfoNCE over a batch (chapter "SimCSE"): rows i of ``z1`` and ``z2`` are a positive pair.

    ``logits[i, j] = cos(z1_i, z2_j) / temperature``; every other row of ``z2``
    is a negative of ``z1_i``. With ``hard_negatives`` (one row per pair) the
    cosines ``cos(z1_i, hn_j) / temperature`` of *all* hard negatives are
    appended as extra columns (SimCSE, Eq. 5). The loss is the cross-entropy
    with the diagonal as the targets, averaged over the batch.
    """
    a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = a @ b.T / temperature
    if hard_negatives is not None:
        negatives = a @ F.normalize(hard_negatives, dim=-1).T / temperature
        logits = torch.cat([logits, negatives], dim=1)
    return F.cross_entropy(logits, torch.arange(len(a), device=logits.device))


def align_uniform_loss(z1, z2, alpha: float = 2, t: float = 2, lam: float = 1):
    """Wang & Isola's objective ``L_align + lam * (L_uniform(z1) + L_uniform(z2)) / 2``.

    Chapter "Alignment and uniformity". On L2-normalized features:
    ``L_align = E ||z1_i - z2_i||^alpha`` and
    ``L_uniform(z) = log E_{i<j} exp(-t ||z_i - z_j||^2)``, as in the paper's
    reference code.
    """
    a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    align = (a - b).norm(p=2, dim=1).pow(alpha).mean()

    def uniform(z):
        return torch.pdist(z, p=2).pow(2).mul(-t).exp().mean().log()

    return align + lam * (uniform(a) + uniform(b)) / 2


class AlignUniformLoss(torch.nn.Module):
    """``L_align + lam * L_uniform`` as a sentence-transformers loss.

    Chapter "Alignment and uniformity".
    """

    def __init__(self, model, alpha: float = 2, t: float = 2, lam: float = 1):
        super().__init__()
        self.model, self.alpha, self.t, self.lam = model, alpha, t, lam

    def forward(self, sentence_features, labels=None):
        z1, z2 = [self.model(f)["sentence_embedding"] for f in sentence_features][:2]
        return align_uniform_loss(z1, z2, self.alpha, self.t, self.lam)

    def get_config_dict(self):
        return {"alpha": self.alpha, "t": self.t, "lam": self.lam}


def shared_mask_loss(model, scale: float = 20.0, gather_across_devices: bool = False):
    """InfoNCE where both views of a sentence share one dropout mask (SimCSE's Table 3, "fixed
    0.1"). Chapter "Reproducing the numbers".

    Two forward passes give every sentence two different dropout masks; this loss makes one
    pass over the anchor column (dropout on) and uses its output as both views, which is what
    two passes with the same mask would compute: the positive is the anchor itself, as with
    dropout switched off, while the negatives still see dropout. A
    ``MultipleNegativesRankingLoss`` in all else (the same ``scale`` = 1 / temperature).
    """
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    class SharedMaskLoss(MultipleNegativesRankingLoss):
        def forward(self, sentence_features, labels=None):
            z = self.model(list(sentence_features)[0])["sentence_embedding"]
            return self.compute_loss_from_embeddings([z, z], labels)

    return SharedMaskLoss(model, scale=scale, gather_across_devices=gather_across_devices)
