"""How contextual token representations are: self-similarity and intra-sentence similarity
(Ethayarajh 2019).

Introduced in chapter "Reproducing the numbers". Both are average cosines, so they inherit the
anisotropy of the space: compare them with the anisotropy baseline, the average cosine of random
tokens (:func:`aniso.geometry.metrics.average_cosine`), as Ethayarajh does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aniso.geometry.metrics import as_matrix, average_cosine, paired_cosine

__all__ = ["self_similarity", "intra_sentence_similarity", "token_states", "by_layer"]


def self_similarity(occurrences: Any) -> float:
    """Self-similarity of one word: the average cosine between its representations in
    different contexts (rows of ``occurrences``, at least two).

    Introduced in chapter "Reproducing the numbers".

    ``SelfSim(w) = 1 / (n^2 - n) sum_j sum_{k != j} cos(f(s_j, i_j), f(s_k, i_k))`` (Ethayarajh
    2019, Definition 1): 1 for a static embedding, lower the more the context changes the
    vector. Compare it with the anisotropy baseline, :func:`average_cosine` of random words.

    Reference: Ethayarajh, K. (2019). How Contextual are Contextualized Word Representations?
    EMNLP-IJCNLP 2019.
    """
    return average_cosine(as_matrix(occurrences, "occurrences of one word", need_nonzero=True))


def intra_sentence_similarity(tokens: Any) -> float:
    """Intra-sentence similarity: the average cosine between each token of one sentence (rows
    of ``tokens``) and the sentence's mean vector.

    Introduced in chapter "Reproducing the numbers".

    ``IntraSim(s) = 1/n sum_i cos(s_vec, f(s, i))`` with ``s_vec = 1/n sum_i f(s, i)``
    (Ethayarajh 2019, Definition 2).

    Reference: Ethayarajh, K. (2019). How Contextual are Contextualized Word Representations?
    EMNLP-IJCNLP 2019.
    """
    arr = as_matrix(tokens, "token vectors of one sentence", need_nonzero=True, min_rows=1)
    mean = arr.mean(axis=0, keepdims=True)
    if not np.linalg.norm(mean) > 0:
        raise ValueError(
            "the token vectors sum to zero: the sentence's mean vector has no "
            "direction, so its cosine with the tokens is undefined"
        )
    return float(paired_cosine(np.repeat(mean, len(arr), axis=0), arr).mean())


def token_states(encoder, sentences, batch_size: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every layer's vector of every token: one ``(token ids, states)`` pair per sentence, with
    ``states`` of shape ``(n_tokens, layers + 1, d)`` (the embedding output first) and the
    special tokens ([CLS], [SEP]) left out, as Ethayarajh does.

    Introduced in chapter "Reproducing the numbers". ``encoder`` is an
    :class:`aniso.encoders.TransformerEncoder` (or a name :func:`aniso.encoders.load_encoder`
    accepts); sentences are truncated at its ``max_length``.
    """
    import torch

    from aniso.encoders.models import load_encoder

    enc = load_encoder(encoder)
    model, tok = enc.model, enc.tokenizer
    was_training, out = model.training, []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            b = tok(
                list(sentences[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=enc.max_length,
                return_tensors="pt",
            )
            hidden = model(**b, output_hidden_states=True).hidden_states
            states = torch.stack(hidden, dim=2).float().cpu().numpy()  # (B, T, layers + 1, d)
            for j, n in enumerate(b["attention_mask"].sum(1).tolist()):
                # copies: a view would keep the whole padded batch alive (3x the memory)
                out.append(
                    (b["input_ids"][j, 1 : n - 1].numpy().copy(), states[j, 1 : n - 1].copy())
                )
    model.train(was_training)
    return out


def by_layer(
    states: list[tuple[np.ndarray, np.ndarray]],
    min_contexts: int = 5,
    max_occurrences: int = 20,
    n_samples: int = 1000,
    seed: int = 0,
) -> dict:
    """Ethayarajh's three measures per layer, from :func:`token_states`.

    Introduced in chapter "Reproducing the numbers". Returns ``{"baseline", "self_similarity",
    "intra_sentence_similarity"}``, one array over layers each: the anisotropy baseline (the
    average cosine of ``n_samples`` random token pairs, each token drawn from a different
    random sentence), the mean self-similarity of the tokens that occur in at least
    ``min_contexts`` sentences (at most ``max_occurrences`` occurrences each, one per
    sentence), and the mean intra-sentence similarity of ``n_samples // 2`` random sentences
    of two tokens or more. Subtract the baseline to adjust for anisotropy (his Eq. 4).
    """
    rng = np.random.default_rng(seed)
    n_layers = states[0][1].shape[1]
    where: dict[int, list[tuple[int, int]]] = {}
    for si, (ids, _) in enumerate(states):
        for ti, t in enumerate(ids.tolist()):
            where.setdefault(t, [])
            if not where[t] or where[t][-1][0] != si:  # one occurrence per sentence
                where[t].append((si, ti))
    words = [occ[:max_occurrences] for occ in where.values() if len(occ) >= min_contexts]
    if not words:
        raise ValueError(f"no token occurs in {min_contexts} sentences: give more sentences")
    usable = [i for i, (ids, _) in enumerate(states) if len(ids) >= 2]
    pick = rng.choice(len(usable), size=(n_samples, 2))
    pick = pick[pick[:, 0] != pick[:, 1]]
    pairs = [[(usable[a], rng.integers(len(states[usable[a]][0]))) for a in row] for row in pick]
    sents = rng.choice(usable, size=min(n_samples // 2, len(usable)), replace=False)
    out = {"baseline": [], "self_similarity": [], "intra_sentence_similarity": []}
    for layer in range(n_layers):
        x = np.stack([states[s][1][t, layer] for (s, t), _ in pairs])
        y = np.stack([states[s][1][t, layer] for _, (s, t) in pairs])
        out["baseline"].append(float(paired_cosine(x, y).mean()))
        out["self_similarity"].append(
            float(
                np.mean(
                    [
                        self_similarity(np.stack([states[s][1][t, layer] for s, t in occ]))
                        for occ in words
                    ]
                )
            )
        )
        out["intra_sentence_similarity"].append(
            float(np.mean([intra_sentence_similarity(states[s][1][:, layer]) for s in sents]))
        )
    return {k: np.array(v) for k, v in out.items()}
