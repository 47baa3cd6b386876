"""The normalizing flow of BERT-flow, written by hand: a Glow on vectors.

Introduced in chapter "BERT-flow and its rivals" (notebooks/03_bert_flow_whitening.ipynb),
which shows :class:`Coupling` on the page. :class:`aniso.postprocess.Flow`
trains a :class:`GlowFlow` by maximum likelihood and uses its latent ``z`` as
the post-processed embedding.

Each step of the flow is an :class:`ActNorm` (Kingma & Dhariwal 2018), a
mixing of the coordinates (a fixed :class:`Permute`, BERT-flow's choice, or
Glow's invertible 1x1 convolution :class:`InvLinearLU`) and a :class:`Coupling`
layer (additive as in NICE and BERT-flow, or affine as in Glow). Every layer's
``forward(x)`` returns ``(z, log|det dz/dx|)`` per row and ``inverse(z)`` maps back;
the tests check them against the transforms of the ``zuko`` library.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from torch import nn

__all__ = ["ActNorm", "Permute", "InvLinearLU", "Coupling", "GlowFlow"]


class ActNorm(nn.Module):
    """z = (x + b) * exp(s); b, s set from the data on first use (Glow's data-dependent init)."""

    def __init__(self, d):
        super().__init__()
        self.bias, self.logs = nn.Parameter(torch.zeros(d)), nn.Parameter(torch.zeros(d))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x):
        if not self.initialized:
            with torch.no_grad():
                self.bias.copy_(-x.mean(0))
                self.logs.copy_(-torch.log(x.std(0) + 1e-6))
                self.initialized.fill_(True)
        return (x + self.bias) * torch.exp(self.logs), self.logs.sum().expand(len(x))

    def inverse(self, z):
        return z * torch.exp(-self.logs) - self.bias


class Permute(nn.Module):
    """A fixed random permutation of the coordinates (BERT-flow's choice); log-det 0."""

    def __init__(self, d, generator):
        super().__init__()
        perm = torch.randperm(d, generator=generator)
        self.register_buffer("perm", perm)
        self.register_buffer("inv", torch.argsort(perm))

    def forward(self, x):
        return x[:, self.perm], x.new_zeros(len(x))

    def inverse(self, z):
        return z[:, self.inv]


class InvLinearLU(nn.Module):
    """Glow's invertible 1x1 convolution, on vectors: z = x W^T with
    W = P L (U + diag(sign * exp(log_s))) (P fixed, L unit lower, U strictly upper triangular)."""

    def __init__(self, d, generator):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
        p, lower, upper = (torch.as_tensor(m) for m in scipy.linalg.lu(q.numpy()))
        s = torch.diagonal(upper)
        self.register_buffer("p", p.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("lmask", torch.tril(torch.ones(d, d), -1))
        self.register_buffer("eye", torch.eye(d))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).float())

    def weight(self):
        lower = self.lower * self.lmask + self.eye
        upper = self.upper * self.lmask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.p @ lower @ upper

    def forward(self, x):
        return x @ self.weight().T, self.log_s.sum().expand(len(x))

    def inverse(self, z):
        return z @ torch.linalg.inv(self.weight()).T


class Coupling(nn.Module):
    """One coupling layer: the first half ``x_a`` passes unchanged and moves the second half
    ``x_b``.

    Additive (NICE, BERT-flow): ``z_b = x_b + t(x_a)``, log-determinant 0.
    Affine (Glow): ``z_b = (x_b + t(x_a)) * s(x_a)`` with ``s = sigmoid(h(x_a) + 2)``,
    log-determinant ``sum log s``. ``t`` and ``h`` come from one MLP whose last layer
    starts at zero, so the layer starts as the identity. Chapter "BERT-flow and its rivals".
    """

    def __init__(self, d, hidden, affine):
        super().__init__()
        self.da, self.affine = d // 2, affine
        out = (d - self.da) * (2 if affine else 1)
        self.net = nn.Sequential(
            nn.Linear(self.da, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out),
        )
        nn.init.zeros_(self.net[-1].weight)  # each coupling starts as the identity (Glow)
        nn.init.zeros_(self.net[-1].bias)

    def _shift_scale(self, xa):
        h = self.net(xa)
        if not self.affine:
            return h, None
        shift, raw = h.chunk(2, dim=1)
        return shift, torch.sigmoid(raw + 2.0)

    def forward(self, x):
        xa, xb = x[:, : self.da], x[:, self.da :]
        shift, scale = self._shift_scale(xa)
        if scale is None:
            return torch.cat([xa, xb + shift], 1), x.new_zeros(len(x))
        return torch.cat([xa, (xb + shift) * scale], 1), torch.log(scale).sum(1)

    def inverse(self, z):
        za, zb = z[:, : self.da], z[:, self.da :]
        shift, scale = self._shift_scale(za)
        xb = zb - shift if scale is None else zb / scale - shift
        return torch.cat([za, xb], 1)


class GlowFlow(nn.Module):
    """The hand-written Glow, x -> z: ``n_steps`` x (:class:`ActNorm`, mixing, :class:`Coupling`).

    Chapter "BERT-flow and its rivals". The mixing is :class:`InvLinearLU`
    (``mixing="lu"``) or :class:`Permute` (``"permute"``); the coupling is
    affine or additive. ``forward(x) -> (z, log|det dz/dx|)``, ``inverse(z) -> x``,
    ``nll(x)``. Weights are seeded by ``seed``; the global RNG is left alone.
    """

    def __init__(self, dim, n_steps=4, hidden=256, coupling="affine", mixing="lu", seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        layers = []
        with torch.random.fork_rng(devices=[]):  # seeded weights, global RNG left alone
            torch.manual_seed(seed)
            for _ in range(n_steps):
                mix = InvLinearLU(dim, g) if mixing == "lu" else Permute(dim, g)
                layers += [ActNorm(dim), mix, Coupling(dim, hidden, coupling == "affine")]
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        logdet = x.new_zeros(len(x))
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z):
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def nll(self, x):
        """Mean negative log-likelihood per dimension (nats) under a standard Gaussian latent."""
        z, logdet = self(x)
        log_pz = -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * np.log(2 * np.pi)
        return -(log_pz + logdet).mean() / z.shape[1]
