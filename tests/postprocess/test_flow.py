"""The hand-written Glow of aniso.postprocess.flow against the transforms of the zuko library.

Each layer of aniso.postprocess.flow is rebuilt from zuko's transforms (an affine map for the
actnorm, a permutation, a coupling transform around the layer's own network) and must give the same
output, log-determinant and inverse; the LU mixing is checked against torch's slogdet.
"""

import pytest
import torch
import zuko.transforms as T

from aniso.postprocess.flow import ActNorm, Coupling, GlowFlow, InvLinearLU, Permute

D = 6


def _data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, D, generator=g, dtype=torch.float64) * 3 + 1


def _perturb(module, seed=1):
    """Random non-zero weights: a coupling starts as the identity, which would prove little."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _zuko_actnorm(layer):
    scale = torch.exp(layer.logs)
    return T.AffineTransform(layer.bias * scale, scale, event_dim=1)


def _zuko_coupling(layer):
    mask = torch.arange(D) < layer.da

    def meta(xa):
        shift, scale = layer._shift_scale(xa)
        if scale is None:
            return T.AffineTransform(shift, torch.ones_like(shift), event_dim=1)
        return T.AffineTransform(shift * scale, scale, event_dim=1)

    return T.CouplingTransform(meta, mask)


def _same(ours, theirs, x):
    z, logdet = ours(x)
    assert torch.allclose(z, theirs(x), atol=1e-10)
    assert torch.allclose(logdet, theirs.log_abs_det_jacobian(x, z), atol=1e-10)
    assert torch.allclose(ours.inverse(z), theirs.inv(z), atol=1e-10)
    assert torch.allclose(ours.inverse(z), x, atol=1e-8)


def test_actnorm_is_an_affine_transform():
    x = _data()
    layer = ActNorm(D).double()
    z, _ = layer(x)  # the data-dependent initialization: zero mean, unit variance
    assert torch.allclose(z.mean(0), torch.zeros(D, dtype=torch.float64), atol=1e-10)
    _same(layer, _zuko_actnorm(layer), _data(seed=2))


@pytest.mark.parametrize("affine", [True, False])
def test_coupling_is_a_coupling_transform(affine):
    layer = _perturb(Coupling(D, hidden=8, affine=affine).double())
    _same(layer, _zuko_coupling(layer), _data())


def test_permute_is_a_permutation_transform():
    layer = Permute(D, torch.Generator().manual_seed(0))
    _same(layer, T.PermutationTransform(layer.perm), _data())


def test_lu_mixing_log_determinant_and_inverse():
    layer = _perturb(InvLinearLU(D, torch.Generator().manual_seed(0)).double())
    x = _data()
    z, logdet = layer(x)
    w = layer.weight()
    assert torch.allclose(z, x @ w.T)
    assert torch.allclose(logdet, torch.linalg.slogdet(w).logabsdet.expand(len(x)), atol=1e-10)
    assert torch.allclose(layer.inverse(z), x, atol=1e-8)


@pytest.mark.parametrize("coupling", ["affine", "additive"])
def test_glow_flow_is_the_composition_of_zuko_transforms(coupling):
    flow = GlowFlow(D, n_steps=3, hidden=8, coupling=coupling, mixing="permute", seed=0).double()
    with torch.no_grad():
        flow(_data())  # actnorm initialization
    _perturb(flow)
    parts = []
    for layer in flow.layers:
        if isinstance(layer, ActNorm):
            parts.append(_zuko_actnorm(layer))
        elif isinstance(layer, Permute):
            parts.append(T.PermutationTransform(layer.perm))
        else:
            parts.append(_zuko_coupling(layer))
    theirs = T.ComposedTransform(*parts)
    x = _data(seed=3)
    with torch.no_grad():
        z, logdet = flow(x)
        z2, ladj = theirs.call_and_ladj(x)
        assert torch.allclose(z, z2, atol=1e-10) and torch.allclose(logdet, ladj, atol=1e-10)
        assert torch.allclose(flow.inverse(z), theirs.inv(z), atol=1e-8)
