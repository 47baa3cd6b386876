"""The appendix's diagnostics of a stalled MLM: the neighbour count baseline, attention offsets."""

from collections import Counter

import numpy as np
import pytest
import torch

from aniso.standin import pretrain
from aniso.standin.diagnostics import (
    NeighbourCounts,
    neighbour_attention,
    neighbour_count_accuracy,
    offset_attention,
)


def _argmax_smallest(counter: Counter) -> int:
    best = max(counter.values())
    return min(k for k, v in counter.items() if v == best)


def _naive_tables(blocks):
    """Independent reference: plain Python counters over every (left, middle, right) triple."""
    both, left, right, uni = {}, {}, {}, Counter()
    for row in blocks.tolist():
        for lt, m, r in zip(row, row[1:], row[2:]):
            both.setdefault((lt, r), Counter())[m] += 1
            left.setdefault(lt, Counter())[m] += 1
            right.setdefault(r, Counter())[m] += 1
            uni[m] += 1
    return (
        {k: _argmax_smallest(c) for k, c in both.items()},
        {k: _argmax_smallest(c) for k, c in left.items()},
        {k: _argmax_smallest(c) for k, c in right.items()},
        _argmax_smallest(uni),
    )


def test_count_tables_match_a_naive_count():
    blocks = np.random.default_rng(0).integers(0, 6, size=(40, 9))
    t = NeighbourCounts(blocks, vocab_size=6)
    both, left, right, uni = _naive_tables(blocks)
    assert {(k // 6, k % 6): v for k, v in t.both.items()} == both
    assert t.left == left and t.right == right and t.unigram == uni


def test_prediction_backs_off_from_both_neighbours_to_one_to_the_unigram():
    # triples (left, middle, right): (0,1,2) (1,2,1) (2,1,3) (1,3,4) (3,4,4)
    t = NeighbourCounts(np.array([[0, 1, 2, 1, 3, 4, 4]]), vocab_size=9)
    mask = 8
    assert t.predict(2, 3, mask) == 1  # the pair (2, 3) was seen around 1
    assert t.predict(2, 2, mask) == 1  # unseen pair: left neighbour 2 was followed by 1
    assert (
        t.predict(1, mask, mask) == 2
    )  # left 1 was followed by 2 and by 3 once each: the smaller id
    assert (
        t.predict(mask, 4, mask) == 3
    )  # left masked: right neighbour 4 was preceded by 3 and 4: the smaller
    assert t.predict(5, 4, mask) == 3  # unseen pair, unseen left: the right neighbour
    assert (
        t.predict(5, 5, mask) == 1 and t.predict(mask, mask, mask) == 1
    )  # nothing known: most frequent middle


def _blocks(tok, paragraphs):
    return pretrain.blocks_from_paragraphs(paragraphs, tok, 16)


def test_count_accuracy_is_scored_on_the_models_masked_positions():
    tok = pretrain.load_tokenizer(pretrain.PretrainConfig())
    train = _blocks(
        tok,
        [f"the cat sat on the mat number {i % 5} and the dog sat on the rug ." for i in range(40)],
    )
    held = _blocks(tok, ["the dog sat on the mat and the cat sat on the rug ."] * 12)
    acc = neighbour_count_accuracy(train, held, tok)
    # independent re-count: the same masks (seed 12345, batches of 64) scored with the naive tables
    both, left, right, uni = _naive_tables(train)
    gen = torch.Generator().manual_seed(12345)
    hits = n = 0
    for i in range(0, len(held), 64):
        inputs, chosen, labels = pretrain.mask_tokens(
            torch.from_numpy(held[i : i + 64].astype(np.int64)), tok, 0.15, gen
        )
        for (r, c), y in zip(chosen.nonzero().tolist(), labels.tolist()):
            lt, rr = inputs[r, c - 1].item(), inputs[r, c + 1].item()
            m = tok.mask_token_id
            p = both.get((lt, rr)) if lt != m and rr != m else None
            if p is None:
                p = left.get(lt) if lt != m else None
            if p is None:
                p = right.get(rr) if rr != m else None
            hits += (uni if p is None else p) == y
            n += 1
    assert acc == hits / n
    assert n == 26 and acc == pytest.approx(17 / 26)  # pinned: 12 blocks of 16 tokens


def test_count_baseline_rejects_bad_input():
    tok = pretrain.load_tokenizer(pretrain.PretrainConfig())
    with pytest.raises(ValueError, match="2-D"):
        NeighbourCounts(np.zeros((4, 2), dtype=np.int64), 10)
    with pytest.raises(ValueError, match="empty"):
        NeighbourCounts(np.zeros((0, 8), dtype=np.int64), 10)
    train = _blocks(tok, ["the cat sat on the mat ."] * 8)
    with pytest.raises(ValueError, match="no masked positions"):
        neighbour_count_accuracy(train, train[:0], tok)


def test_offset_attention_reads_the_three_diagonals():
    L = 5
    eye = torch.eye(L)
    prev = torch.diag(torch.ones(L - 1), -1)  # query i attends to key i-1
    layer = torch.stack([eye, prev])[None]  # batch 1, two heads
    out = offset_attention([layer, torch.full((1, 2, L, L), 1 / L)])
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[0, 0], [0, 1, 0])
    np.testing.assert_allclose(out[0, 1], [1, 0, 0])
    np.testing.assert_allclose(out[1], np.full((2, 3), 1 / L), rtol=1e-6)


def test_a_bert_without_query_and_key_attends_uniformly():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        attn_implementation="eager",
    )
    model = BertModel(cfg)
    with torch.no_grad():
        for layer in model.encoder.layer:
            for lin in (layer.attention.self.query, layer.attention.self.key):
                lin.weight.zero_()
                lin.bias.zero_()
    blocks = np.random.default_rng(0).integers(5, 50, size=(5, 12))
    out = neighbour_attention(model, blocks, batch=2)
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out, np.full((2, 2, 3), 1 / 12), rtol=1e-6)
    model.set_attn_implementation("sdpa")
    with pytest.raises(ValueError, match="eager"):
        neighbour_attention(model, blocks)
