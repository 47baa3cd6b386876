"""Tests of aniso.contrastive.losses: InfoNCE against sentence-transformers'
MultipleNegativesRankingLoss on the outputs of a real (tiny, random) BERT and against a direct
computation; alignment + uniformity on three vectors."""

import math

import pytest
import torch
from conftest import SENTENCES

from aniso.contrastive import losses as L
from aniso.geometry import metrics


def _st_model(folder, pooling="cls"):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    tr = Transformer(str(folder), max_seq_length=16)
    return SentenceTransformer(
        modules=[tr, Pooling(tr.get_embedding_dimension(), pooling)], device="cpu"
    )


def test_info_nce_equals_multiple_negatives_ranking_loss(tiny_bert):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = _st_model(tiny_bert)
    model.eval()  # the same forward for both losses (no dropout noise)
    mnrl = MultipleNegativesRankingLoss(model, scale=20.0)
    anchors, positives = SENTENCES[:8], [s.upper() for s in SENTENCES[:8]]
    features = [model.preprocess(anchors), model.preprocess(positives)]
    with torch.no_grad():
        theirs = mnrl(features, None)  # the loss's own forward: embed both columns, then score
        z1 = model(model.preprocess(anchors))["sentence_embedding"]
        z2 = model(model.preprocess(positives))["sentence_embedding"]
        ours = L.info_nce(z1, z2, temperature=0.05)
    assert theirs.item() > 0.1  # a real comparison: not a trivially solved batch
    assert abs(ours.item() - theirs.item()) < 1e-6
    # and with hard negatives, on fixed embeddings through the loss's own computation
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.randn(6, 16, generator=g) for _ in range(3))
    theirs = mnrl.compute_loss_from_embeddings([a, p, n], None)
    assert abs(L.info_nce(a, p, 0.05, hard_negatives=n).item() - theirs.item()) < 1e-6


def test_shared_mask_loss_is_info_nce_of_one_pass_twice(tiny_bert):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = _st_model(tiny_bert)
    model.train()  # dropout on: every forward pass draws new masks
    features = [model.preprocess(SENTENCES[:8]), model.preprocess(SENTENCES[:8])]
    shared = L.shared_mask_loss(model, scale=20.0)
    torch.manual_seed(0)
    theirs = shared(features, None)
    torch.manual_seed(0)  # the same masks again, for one pass over the anchors
    z = model(model.preprocess(SENTENCES[:8]))["sentence_embedding"]
    assert abs(L.info_nce(z, z, temperature=0.05).item() - theirs.item()) < 1e-6
    torch.manual_seed(0)
    two_masks = MultipleNegativesRankingLoss(model, scale=20.0)(features, None)
    assert two_masks.item() > theirs.item() + 1e-3  # two masks: the positive is no longer z itself


def test_info_nce_with_hard_negatives_by_direct_computation():
    g = torch.Generator().manual_seed(0)
    z1, z2, hn = (torch.randn(5, 7, generator=g, dtype=torch.float64) for _ in range(3))
    tau = 0.05

    def cos(u, v):
        return float(u @ v / (u.norm() * v.norm()))

    total = 0.0
    for i in range(5):
        pos = math.exp(cos(z1[i], z2[i]) / tau)
        denom = sum(math.exp(cos(z1[i], z2[j]) / tau) for j in range(5))
        denom += sum(math.exp(cos(z1[i], hn[j]) / tau) for j in range(5))
        total += -math.log(pos / denom)
    assert L.info_nce(z1, z2, tau, hard_negatives=hn).item() == pytest.approx(total / 5, rel=1e-10)
    without = (
        sum(
            -math.log(
                math.exp(cos(z1[i], z2[i]) / tau)
                / sum(math.exp(cos(z1[i], z2[j]) / tau) for j in range(5))
            )
            for i in range(5)
        )
        / 5
    )
    assert L.info_nce(z1, z2, tau).item() == pytest.approx(without, rel=1e-10)


def test_align_uniform_loss_on_three_vectors():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    z2 = torch.tensor([[0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    align = (2 + 0 + 0) / 3  # squared distances of the pairs
    u1 = math.log(
        (2 * math.exp(-2 * 2) + math.exp(-2 * 4)) / 3
    )  # pairwise squared distances 2, 4, 2
    u2 = math.log((math.exp(0) + 2 * math.exp(-2 * 2)) / 3)  # 0, 2, 2
    assert L.align_uniform_loss(z1, z2).item() == pytest.approx(align + (u1 + u2) / 2, rel=1e-12)
    assert L.align_uniform_loss(3 * z1, z2, lam=0).item() == pytest.approx(
        align
    )  # features are normalized
    assert metrics.alignment(z1.numpy(), z2.numpy()) == pytest.approx(align)
    assert metrics.uniformity(z1.numpy()) == pytest.approx(u1)
