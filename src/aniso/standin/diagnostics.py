"""Does a masked language model read its neighbours?

Appendix "The stand-in BERT", section "Does it read the neighbours?".

Two measurements that explain a masked language model stuck at low accuracy:

* :func:`neighbour_count_accuracy`: a baseline with no neural network at all. It predicts a
  masked token as the word seen most often between the same left and right neighbours in the
  training text (backing off to the left neighbour alone, the right neighbour alone, then the
  most frequent token). It is scored on exactly the masked positions that
  :func:`aniso.standin.pretrain.evaluate` scores the model on.
* :func:`offset_attention`: how much attention each head pays to the previous token, to the token
  itself and to the next token. A head that reads its neighbours puts far more than ``1/length``
  there; a head whose attention is spread uniformly puts ``1/length``.
"""

from __future__ import annotations

import numpy as np
import torch

from aniso.standin.pretrain import heldout_masks


def _most_frequent_middle(
    context: np.ndarray, middle: np.ndarray, vocab_size: int
) -> dict[int, int]:
    """Map each context id to its most frequent middle token (ties: the smallest token id)."""
    key = context.astype(np.int64) * vocab_size + middle
    uniq, counts = np.unique(key, return_counts=True)
    ctx, mid = uniq // vocab_size, uniq % vocab_size
    order = np.lexsort((mid, -counts, ctx))  # by context, then count descending, then token id
    ctx, mid = ctx[order], mid[order]
    first = np.r_[True, ctx[1:] != ctx[:-1]]
    return dict(zip(ctx[first].tolist(), mid[first].tolist()))


class NeighbourCounts:
    """Count tables of the token between two neighbours, built from packed training blocks."""

    def __init__(self, train_blocks: np.ndarray, vocab_size: int):
        if train_blocks.ndim != 2 or train_blocks.shape[1] < 3:
            raise ValueError(
                "train_blocks must be 2-D with rows of at least 3 tokens, got shape "
                f"{train_blocks.shape}"
            )
        if len(train_blocks) == 0:
            raise ValueError("train_blocks is empty")
        b = train_blocks.astype(np.int64)
        left, mid, right = b[:, :-2].ravel(), b[:, 1:-1].ravel(), b[:, 2:].ravel()
        self.vocab_size = vocab_size
        self.both = _most_frequent_middle(left * vocab_size + right, mid, vocab_size)
        self.left = _most_frequent_middle(left, mid, vocab_size)
        self.right = _most_frequent_middle(right, mid, vocab_size)
        counts = np.bincount(mid, minlength=vocab_size)
        self.unigram = int(counts.argmax())

    def predict(self, left: int, right: int, mask_id: int) -> int:
        """Most frequent middle token for the visible neighbours ([MASK] counts as not visible)."""
        if left != mask_id and right != mask_id:
            p = self.both.get(left * self.vocab_size + right)
            if p is not None:
                return p
        if left != mask_id and left in self.left:
            return self.left[left]
        if right != mask_id and right in self.right:
            return self.right[right]
        return self.unigram


def neighbour_count_accuracy(
    train_blocks: np.ndarray, heldout_blocks: np.ndarray, tok, mask_prob: float = 0.15
) -> float:
    """Masked-token accuracy of the neighbour count baseline on the held-out masked positions.

    The positions and the corrupted inputs are those of
    :func:`aniso.standin.pretrain.heldout_masks`, so the number compares one to one with the
    model's held-out accuracy.
    """
    table = NeighbourCounts(train_blocks, len(tok))
    correct = total = 0
    for inputs, chosen, labels in heldout_masks(heldout_blocks, tok, mask_prob):
        x = inputs.numpy()
        rows, cols = np.nonzero(chosen.numpy())  # row-major, the order of ``labels``
        for r, c, y in zip(rows, cols, labels.numpy()):
            pred = table.predict(int(x[r, c - 1]), int(x[r, c + 1]), tok.mask_token_id)
            correct += pred == y
            total += 1
    if total == 0:
        raise ValueError("no masked positions in heldout_blocks")
    return correct / total


def offset_attention(attentions) -> np.ndarray:
    """Mean attention on offsets -1, 0, +1: array (layers, heads, 3).

    ``attentions`` is a sequence of tensors (batch, heads, query, key), one per layer, as a
    transformers model returns with ``output_attentions=True``.
    """
    out = []
    for a in attentions:
        a = torch.as_tensor(a).float().mean(0)  # heads x q x k
        out.append(
            torch.stack([torch.diagonal(a, off, dim1=1, dim2=2).mean(-1) for off in (-1, 0, 1)], -1)
        )
    return torch.stack(out).numpy()


@torch.no_grad()
def neighbour_attention(model, blocks: np.ndarray, batch: int = 16) -> np.ndarray:
    """:func:`offset_attention` of a BERT on ``blocks``, averaged over the blocks: (layers, heads,
    3).

    The model must return attention weights (load it with ``attn_implementation="eager"``).
    """
    model.eval()
    total, n = None, 0
    for i in range(0, len(blocks), batch):
        ids = torch.from_numpy(blocks[i : i + batch].astype(np.int64))
        att = model(input_ids=ids, output_attentions=True).attentions
        if att is None or len(att) == 0:
            raise ValueError(
                "the model returned no attention weights; load it with attn_implementation='eager'"
            )
        part = offset_attention(att) * len(ids)
        total = part if total is None else total + part
        n += len(ids)
    return total / n
