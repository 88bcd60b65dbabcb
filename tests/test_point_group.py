"""The triangular point group and the convolutions tied to it (distllg/model/point_group.py)."""

import numpy as np
import pytest
import torch

from distllg.model import point_group as pg


def test_elements_form_the_group_of_the_lattice():
    """12 distinct integer matrices, closed under products, each mapping the 6 nearest
    neighbours onto themselves (so they preserve lattice distances)."""
    assert len({m.tobytes() for m in pg.ELEMENTS}) == pg.ORDER == 12
    for g in pg.ELEMENTS:
        for h in pg.ELEMENTS:
            pg.element_index(g @ h)  # raises if outside
        ring = {tuple(int(v) for v in g @ d) for d in pg.hexagon(1)}
        assert ring == set(pg.hexagon(1))
    assert sorted(round(np.linalg.det(g)) for g in pg.ELEMENTS) == [-1] * 6 + [1] * 6


@pytest.mark.parametrize("radius", [1, 2, 3, 4])
def test_hexagon_holds_the_shells_of_the_triangular_lattice(radius):
    offsets = pg.hexagon(radius)
    assert len(offsets) == 3 * radius * (radius + 1)
    assert offsets[:6] == [(1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)]
    lengths = [np.hypot(dx + dy / 2, dy * np.sqrt(3) / 2) for dx, dy in offsets]
    assert lengths[:6] == pytest.approx([1.0] * 6)  # the nearest neighbours come first
    assert pg.hex_distance(*offsets[-1]) == radius


#: the centres' directions of the 6 triangles around a site (oriented: pseudo-scalars)
TRIANGLES = [(1, 1), (-1, 2), (-2, 1), (-1, -1), (1, -2), (2, -1)]


def _actions():
    inp = pg.ChannelAction.stack(pg.ChannelAction.offsets(pg.hexagon(1)),
                                 pg.ChannelAction.offsets(TRIANGLES, pseudo=True))
    return inp, pg.ChannelAction.regular(2)


def _act(action, g, fields):
    """The group element ``g`` (index) on channels ``(C, L, L)`` over a periodic lattice."""
    matrix = pg.ELEMENTS[g]
    L = fields.shape[-1]
    out = np.empty_like(fields)
    y, x = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    gx, gy = np.tensordot(matrix, np.stack([x, y]), axes=1) % L
    for c in range(fields.shape[0]):
        out[action.perm[g, c], gy, gx] = action.sign[g, c] * fields[c]
    return out


@pytest.mark.parametrize("kernel", [3, 5])
def test_tied_convolution_commutes_with_the_group(kernel, rng):
    inp, out = _actions()
    torch.manual_seed(1)
    conv = pg.TiedConv2d(inp, out, kernel).double()
    u, L = (kernel - 1) // 2, 8
    fields = rng.standard_normal((inp.size, L, L))

    def apply(f):
        x = torch.nn.functional.pad(torch.from_numpy(f[None]), (u,) * 4, mode="circular")
        with torch.no_grad():
            return conv(x)[0].numpy()

    result = apply(fields)
    for g in range(pg.ORDER):
        np.testing.assert_allclose(apply(_act(inp, g, fields)), _act(out, g, result),
                                   atol=1e-13)


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_tied_weights_span_every_equivariant_convolution(kernel):
    """One free weight per orbit, no more and no fewer: the count equals the dimension of
    the space of equivariant weights, the trace of the group-averaging projector
    ``1/|G| sum_g (number of weights that g maps to +- themselves, with that sign)``."""
    inp, out = _actions()
    _, _, count = pg.tied_weight_orbits(out, inp, kernel)
    u = (kernel - 1) // 2
    trace = 0
    for g, matrix in enumerate(pg.ELEMENTS):
        for dy in range(-u, u + 1):
            for dx in range(-u, u + 1):
                if pg.hex_distance(dx, dy) > u or tuple(matrix @ (dx, dy)) != (dx, dy):
                    continue
                fixed_o = out.perm[g] == np.arange(out.size)
                fixed_c = inp.perm[g] == np.arange(inp.size)
                trace += (out.sign[g][fixed_o].sum() * inp.sign[g][fixed_c].sum())
    assert trace % pg.ORDER == 0
    assert count == trace // pg.ORDER


def test_dense_weight_cache_follows_the_free_weights():
    inp, out = _actions()
    conv = pg.TiedConv2d(inp, out, 3).double()
    x = torch.randn(1, inp.size, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        first = conv(x)
        conv.weight_free.mul_(2.0)  # as an optimiser step does
        second = conv(x)
        assert not torch.allclose(first, second)
        fresh = torch.nn.functional.conv2d(x, *conv.dense())
        torch.testing.assert_close(second, fresh, rtol=0, atol=0)
        assert conv.weight.shape == (out.size, inp.size, 3, 3)  # as Conv2d.weight
        assert conv.float()(x.float()).dtype == torch.float32


def test_set_dense_recovers_the_free_weights_and_refuses_a_broken_symmetry():
    inp, out = _actions()
    torch.manual_seed(2)
    conv, other = pg.TiedConv2d(inp, out, 3).double(), pg.TiedConv2d(inp, out, 3).double()
    other.set_dense(*conv.dense())
    torch.testing.assert_close(other.weight_free, conv.weight_free, rtol=0, atol=1e-15)
    torch.testing.assert_close(other.bias_free, conv.bias_free, rtol=0, atol=1e-15)
    weight, bias = conv.dense()
    broken = weight.detach().clone()
    broken[0, 0, 1, 1] += 0.5  # one entry of an orbit changed alone
    with pytest.raises(ValueError, match="weight does not commute"):
        other.set_dense(broken, bias)
