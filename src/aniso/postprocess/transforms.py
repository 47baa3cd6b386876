"""Post-processing of sentence embeddings: centering, all-but-the-top, whitening, a flow.

Introduced in chapter "BERT-flow and its rivals" (notebooks/03_bert_flow_whitening.ipynb).

Every post-processor has the same small interface::

    post = Whitening(k=64).fit(embeddings)   # (n, d) array -> the fitted post-processor
    z = post.transform(new_embeddings)       # (m, d) -> (m, k); also post(new_embeddings)
    post.save("whitening.npz"); post = load("whitening.npz")

* :class:`Center` subtracts the mean.
* :class:`Standardize` (Timkey & van Schijndel 2021's fix for rogue dimensions) maps every
  dimension to zero mean and unit variance, ``(x - mu) / sigma``; scikit-learn's
  ``StandardScaler`` does the same (the tests check it).
* :class:`AllButTheTop` (Mu & Viswanath 2018) subtracts the mean and projects
  out the top ``D`` principal directions (``D`` about ``d / 100``).
* :class:`Whitening` (Su et al. 2021) maps to zero mean and identity
  covariance, ``y = (x - mu) W`` with ``W = U Lambda^(-1/2)`` from the SVD of
  the covariance, optionally keeping only the first ``k`` columns.
* :class:`Flow` (Li et al. 2020, BERT-flow) is a Glow-style normalizing flow
  (actnorm, an invertible linear map or a fixed permutation, a coupling layer,
  repeated) trained by maximum likelihood under a standard Gaussian; its
  transform is the latent ``z``. The flow itself is in :mod:`aniso.postprocess.flow`.

:func:`target_sentences` returns the unlabeled sentences of a task's whole data
set (the papers' "target" setting) and :func:`fit_on_sentences` encodes
sentences and fits a post-processor on them. Everything is saved as one
``.npz`` file (arrays plus a JSON header; the flow's weights as arrays).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = [
    "PostProcessor",
    "Center",
    "Standardize",
    "AllButTheTop",
    "Whitening",
    "Flow",
    "load",
    "make_postprocessor",
    "fit_on_sentences",
    "target_sentences",
    "POSTPROCESSORS",
]


def _matrix(x, what: str, min_rows: int = 1) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D array (n_sentences, dim), got shape {arr.shape}; "
            "for one vector use x[None, :]"
        )
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{what} needs at least {min_rows} rows (embeddings) to estimate its "
            f"statistics, got {arr.shape[0]}"
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{what} has no columns")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _sign_fix(u: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of each column positive (SVD signs are arbitrary)."""
    idx = np.argmax(np.abs(u), axis=0)
    return u * np.sign(u[idx, np.arange(u.shape[1])])


class PostProcessor:
    """Base class: ``fit(embeddings) -> self``, ``transform(embeddings)``, ``save``/:func:`load`.

    Chapter "BERT-flow and its rivals". A fitted post-processor is also a
    callable, so it can be passed as ``transform=`` to
    :func:`aniso.evaluation.evaluate_sts`.
    """

    name = "postprocessor"
    _arrays: tuple[str, ...] = ()  # fitted arrays saved by save()
    dim_: int | None = None

    def _config(self) -> dict:
        return {}

    def fit(self, embeddings) -> "PostProcessor":
        """Estimate the map from ``(n, d)`` embeddings (n >= 2); returns ``self``.

        Chapter "BERT-flow and its rivals".
        """
        x = _matrix(embeddings, f"{type(self).__name__}.fit embeddings", min_rows=2)
        self.dim_ = None  # a failed fit leaves the post-processor unfitted
        self._fit(x)
        self.dim_ = x.shape[1]
        return self

    def transform(self, embeddings) -> np.ndarray:
        """Apply the fitted map to ``(m, d)`` embeddings; float64 ``(m, d_out)``.

        Chapter "BERT-flow and its rivals".
        """
        if self.dim_ is None:
            raise ValueError(
                f"{type(self).__name__} is not fitted yet: call fit(embeddings) "
                "or fit_on_sentences(post, encoder, sentences) first"
            )
        x = _matrix(embeddings, f"{type(self).__name__}.transform embeddings")
        if x.shape[1] != self.dim_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.dim_}-dimensional "
                f"embeddings, got {x.shape[1]}-dimensional ones (same encoder and "
                "pooling?)"
            )
        return self._transform(x)

    __call__ = transform

    def fit_transform(self, embeddings) -> np.ndarray:
        """``fit(embeddings).transform(embeddings)``. Chapter "BERT-flow and its rivals"."""
        return self.fit(embeddings).transform(embeddings)

    def _state(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self._arrays}

    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        for k in self._arrays:
            setattr(self, k, arrays[k])

    def save(self, path) -> Path:
        """Write the fitted post-processor to one ``.npz`` file (JSON header + arrays); return the
        path.

        Chapter "BERT-flow and its rivals"; read it back with :func:`load`.
        """
        if self.dim_ is None:
            raise ValueError(f"{type(self).__name__} is not fitted yet; nothing to save")
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        meta = {"class": type(self).__name__, "config": self._config(), "dim": self.dim_}
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, __meta__=np.array(json.dumps(meta)), **self._state())
        return path

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({args})" + ("" if self.dim_ else " [not fitted]")


class Center(PostProcessor):
    """Subtract the mean embedding of the fit data. Chapter "BERT-flow and its rivals"."""

    name = "center"
    _arrays = ("mean_",)

    def _fit(self, x):
        self.mean_ = x.mean(axis=0)

    def _transform(self, x):
        return x - self.mean_


class Standardize(PostProcessor):
    """Z-score every dimension: ``y = (x - mu) / sigma`` with the fit data's mean and standard
    deviation per dimension (population sd, as scikit-learn's ``StandardScaler``).

    Timkey & van Schijndel (2021) use it against rogue dimensions: unlike whitening it does not
    decorrelate, it only stops a few high-variance dimensions from dominating the cosine.
    Dimensions whose sd is 0 in the fit data are only centred. Chapter "Reproducing the numbers".
    """

    name = "standardize"
    _arrays = ("mean_", "scale_")

    def _fit(self, x):
        self.mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)

    def _transform(self, x):
        return (x - self.mean_) / self.scale_


class AllButTheTop(PostProcessor):
    """All-but-the-top (Mu & Viswanath 2018): remove the mean and the top ``D`` principal
    directions.

    ``y = (x - mu) - sum_{i<=D} (u_i^T (x - mu)) u_i`` with ``u_i`` the top
    eigenvectors of the covariance of the fit data; ``D=None`` picks
    ``max(1, round(d / 100))``, the paper's rule of thumb. Chapter "BERT-flow and its rivals".
    """

    name = "abtt"
    _arrays = ("mean_", "directions_")

    def __init__(self, D: int | None = None):
        if D is not None and (isinstance(D, bool) or not isinstance(D, (int, np.integer)) or D < 1):
            raise ValueError(
                f"D (number of removed directions) must be a positive integer or None, got {D!r}"
            )
        self.D = None if D is None else int(D)

    def _config(self):
        return {"D": self.D}

    def _fit(self, x):
        d = x.shape[1]
        D = self.D if self.D is not None else max(1, round(d / 100))
        if D >= d:
            raise ValueError(f"D={D} must be smaller than the embedding dimension {d}")
        self.mean_ = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        self.directions_ = _sign_fix(vt[:D].T)  # (d, D), orthonormal columns

    def _transform(self, x):
        c = x - self.mean_
        return c - (c @ self.directions_) @ self.directions_.T


class Whitening(PostProcessor):
    """BERT-whitening (Su et al. 2021): zero mean, identity covariance, optionally k dimensions.

    ``mu = mean(x)``, ``Sigma = (1/N) sum (x_i - mu)^T (x_i - mu)``,
    ``U Lambda U^T = SVD(Sigma)``, ``W = (U Lambda^(-1/2))[:, :k]``, ``y = (x - mu) W``.
    ``k=None`` keeps every direction whose variance is at least ``rtol`` times
    the largest: an (almost) empty direction would only have rounding noise
    inflated to unit variance. Mean pooling after a LayerNorm, for instance,
    leaves one exactly empty direction, so ``rank_`` (the number of kept
    directions) can be below d. Column signs of U are fixed (largest entry
    positive) so the result does not depend on the order of the fit rows.
    Chapter "BERT-flow and its rivals".
    """

    name = "whiten"
    _arrays = ("mean_", "W_", "eigenvalues_")

    def __init__(self, k: int | None = None, rtol: float = 1e-6):
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
            raise ValueError(f"k (kept dimensions) must be a positive integer or None, got {k!r}")
        if not 0 <= rtol < 1:
            raise ValueError(f"rtol must be in [0, 1), got {rtol!r}")
        self.k, self.rtol = (None if k is None else int(k)), float(rtol)

    def _config(self):
        return {"k": self.k, "rtol": self.rtol}

    @property
    def rank_(self) -> int:
        return self.W_.shape[1]

    def _fit(self, x):
        n, d = x.shape
        if self.k is not None and self.k > d:
            raise ValueError(f"k={self.k} is larger than the embedding dimension {d}")
        self.mean_ = x.mean(axis=0)
        c = x - self.mean_
        u, s, _ = np.linalg.svd(c.T @ c / n)
        rank = int((s > max(self.rtol * s[0], 0.0)).sum())
        if rank == 0:
            raise ValueError(f"the {n} fit embeddings are all identical: nothing to whiten")
        k = rank if self.k is None else self.k
        if k > rank:
            raise ValueError(
                f"only {rank} of the {d} directions of the {n} fit embeddings have a "
                f"variance above {self.rtol:g} times the largest, fewer than k={k}: "
                "fit on more (and more varied) sentences or choose a smaller k"
            )
        self.eigenvalues_ = s
        self.W_ = _sign_fix(u[:, :k]) / np.sqrt(s[:k])

    def _transform(self, x):
        return (x - self.mean_) @ self.W_


class Flow(PostProcessor):
    """BERT-flow (Li et al. 2020): a Glow-style flow
    (:class:`aniso.postprocess.flow.GlowFlow`) trained by maximum likelihood; the transform is the
    latent z.

    Each of ``n_steps`` steps is actnorm, then a fixed random permutation
    (``mixing="permute"``, BERT-flow's choice) or Glow's invertible 1x1
    convolution in LU form (``mixing="lu"``), then an additive
    (``coupling="additive"``, BERT-flow's choice) or affine (Glow) coupling
    layer whose network is a 2-hidden-layer MLP of width ``hidden``. The
    defaults follow BERT-flow's target setting (Adam, learning rate 1e-3, one
    epoch); ``max_steps`` caps the number of updates. Fixed ``seed``;
    ``history_`` holds the mean NLL per dimension (nats) of each epoch.
    Training uses ``num_threads`` torch threads (default 1: batches this small
    gain little from more, and lose a lot when other processes compete for
    the cores; None keeps torch's setting).
    Chapter "BERT-flow and its rivals".
    """

    name = "flow"
    _arrays = ()

    def __init__(
        self,
        n_steps: int = 6,
        hidden: int = 256,
        coupling: str = "additive",
        mixing: str = "permute",
        epochs: int = 1,
        batch_size: int = 64,
        lr: float = 1e-3,
        seed: int = 0,
        max_steps: int | None = None,
        show_progress: bool = True,
        num_threads: int | None = 1,
    ):
        if coupling not in ("affine", "additive"):
            raise ValueError(f"coupling must be 'affine' or 'additive', got {coupling!r}")
        if mixing not in ("lu", "permute"):
            raise ValueError(f"mixing must be 'lu' or 'permute', got {mixing!r}")
        sizes = (
            ("n_steps", n_steps),
            ("hidden", hidden),
            ("epochs", epochs),
            ("batch_size", batch_size),
        )
        for name, v in sizes:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        bad_threads = isinstance(num_threads, bool) or not isinstance(
            num_threads, (int, np.integer, type(None))
        )
        if bad_threads or (num_threads is not None and num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        if max_steps is not None and (
            isinstance(max_steps, bool)
            or not isinstance(max_steps, (int, np.integer))
            or max_steps < 1
        ):
            raise ValueError(f"max_steps must be a positive integer or None, got {max_steps!r}")
        self.n_steps, self.hidden = int(n_steps), int(hidden)
        self.coupling, self.mixing = coupling, mixing
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.lr, self.seed = float(lr), int(seed)
        self.max_steps, self.show_progress, self.num_threads = max_steps, show_progress, num_threads
        self.model_, self.history_ = None, []

    def _config(self):
        return {
            "n_steps": self.n_steps,
            "hidden": self.hidden,
            "coupling": self.coupling,
            "mixing": self.mixing,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "max_steps": self.max_steps,
        }

    def _build(self, dim):
        from aniso.postprocess.flow import GlowFlow  # torch is imported on first use

        return GlowFlow(dim, self.n_steps, self.hidden, self.coupling, self.mixing, self.seed)

    def _fit(self, x):
        import torch

        threads = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(int(self.num_threads))
        try:
            self._train(x)
        finally:
            torch.set_num_threads(threads)

    def _train(self, x):
        import torch
        from tqdm import tqdm

        self.model_ = model = self._build(x.shape[1])
        data = torch.as_tensor(x, dtype=torch.float32)
        g = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():  # data-dependent actnorm init on up to 4096 rows, layer by layer
            model(data[torch.randperm(len(data), generator=g)[:4096]])
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        steps_per_epoch = -(-len(data) // self.batch_size)
        total = self.epochs * steps_per_epoch
        if self.max_steps is not None:
            total = min(total, int(self.max_steps))
        self.history_, step = [], 0
        model.train()
        bar = tqdm(total=total, desc="training flow", disable=not self.show_progress, leave=False)
        while step < total:
            order, losses = torch.randperm(len(data), generator=g), []
            for i in range(0, len(data), self.batch_size):
                loss = model.nll(data[order[i : i + self.batch_size]])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                step += 1
                bar.update()
                if step >= total:
                    break
            self.history_.append(float(np.mean(losses)))
            bar.set_postfix(nll=f"{self.history_[-1]:.3f}")
        bar.close()
        model.eval()

    def _transform(self, x):
        import torch

        with torch.no_grad():
            z, _ = self.model_(torch.as_tensor(x, dtype=torch.float32))
        return z.double().numpy()

    def inverse(self, z) -> np.ndarray:
        """Map latents back to embeddings (the flow is invertible).

        Chapter "BERT-flow and its rivals".
        """
        import torch

        if self.model_ is None:
            raise ValueError("Flow is not fitted yet: call fit(embeddings) first")
        z = _matrix(z, "Flow.inverse latents")
        with torch.no_grad():
            return self.model_.inverse(torch.as_tensor(z, dtype=torch.float32)).double().numpy()

    def nll(self, embeddings) -> float:
        """Mean negative log-likelihood per dimension (nats) of ``embeddings`` under the flow.

        Chapter "BERT-flow and its rivals".
        """
        import torch

        x = _matrix(embeddings, "Flow.nll embeddings")
        if self.model_ is None:
            raise ValueError("Flow is not fitted yet: call fit(embeddings) first")
        with torch.no_grad():
            return float(self.model_.nll(torch.as_tensor(x, dtype=torch.float32)))

    def _state(self):
        weights = self.model_.state_dict().items()
        state = {f"state/{k}": v.detach().cpu().numpy() for k, v in weights}
        state["history"] = np.asarray(self.history_, dtype=np.float64)
        return state

    def _set_state(self, arrays):
        import torch

        self.model_ = self._build(self.dim_)
        self.model_.load_state_dict(
            {
                k[len("state/") :]: torch.as_tensor(v)
                for k, v in arrays.items()
                if k.startswith("state/")
            }
        )
        self.model_.eval()
        self.history_ = arrays["history"].tolist()


POSTPROCESSORS = {
    "center": Center,
    "standardize": Standardize,
    "abtt": AllButTheTop,
    "whiten": Whitening,
    "flow": Flow,
}


def load(path) -> PostProcessor:
    """Load a post-processor written by ``save``. Chapter "BERT-flow and its rivals"."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no saved post-processor at {path}")
    with np.load(path, allow_pickle=False) as f:
        if "__meta__" not in f:
            raise ValueError(f"{path} was not written by aniso.postprocess.transforms (no header)")
        meta = json.loads(str(f["__meta__"]))
        arrays = {k: f[k] for k in f.files if k != "__meta__"}
    classes = {c.__name__: c for c in POSTPROCESSORS.values()}
    if meta.get("class") not in classes:
        raise ValueError(f"{path} holds an unknown post-processor {meta.get('class')!r}")
    post = classes[meta["class"]](**meta["config"])
    post.dim_ = int(meta["dim"])
    post._set_state(arrays)
    return post


def make_postprocessor(name: str, k: int | None = None, **kwargs) -> PostProcessor | None:
    """A post-processor by its command-line name. Chapter "BERT-flow and its rivals".

    ``none`` -> None, ``center``, ``standardize``, ``abtt``, ``whiten``, ``whiten-k`` (needs
    ``k``), ``flow``; ``kwargs`` go to the class (e.g. ``D``, ``epochs``).
    """
    if name == "none":
        return None
    if name == "whiten-k":
        if k is None:
            raise ValueError("whiten-k needs the number of kept dimensions k (--whiten-k)")
        return Whitening(k=k)
    if name not in POSTPROCESSORS:
        raise ValueError(
            f"unknown post-processing {name!r}; choose none, "
            f"{', '.join(POSTPROCESSORS)} or whiten-k"
        )
    return POSTPROCESSORS[name](**kwargs)


_TARGET_SPLITS = {
    "stsb": ("stsb-train", "stsb-dev", "stsb"),
    "sickr": ("sickr-train", "sickr-trial", "sickr"),
}


def target_sentences(task: str, data_dir=None, max_pairs: int | None = None) -> list[str]:
    """The unlabeled sentences of a task's whole data set: the papers' "target" setting.

    STS-B: train, dev and test; SICK-R: train, trial and test; STS12-16: the
    year's pairs. Both sides of every pair, duplicates removed, first
    occurrence order; no scores are read. ``max_pairs`` caps each split's pairs
    (:func:`aniso.data.thin`; the smoke profile's cap). Chapter "BERT-flow and its rivals".
    """
    from aniso.data import tasks as data_mod

    names = _TARGET_SPLITS.get(task, (task,))
    sentences = []
    for name in names:
        t = data_mod.load_task(name, data_dir=data_dir, max_pairs=max_pairs)
        sentences += t.sentences1 + t.sentences2
    return list(dict.fromkeys(sentences))


def fit_on_sentences(
    post: PostProcessor,
    encoder,
    sentences,
    pooling: str = "emb_last_avg",
    batch_size: int = 64,
    show_progress: bool | None = None,
) -> PostProcessor:
    """Encode ``sentences`` (cached) with ``encoder`` and fit ``post`` on them; returns ``post``.

    Chapter "BERT-flow and its rivals".
    """
    from aniso.encoders.models import load_encoder

    emb = load_encoder(encoder).encode(
        sentences, pooling=pooling, batch_size=batch_size, show_progress=show_progress
    )
    return post.fit(emb)
