"""The CNN: receptive radius from the architecture; periodic and tiled modes agree."""

import numpy as np
import pytest
import torch

from distllg import spins as spinlib
from distllg.model.cnn import EquivariantSpinCNN, SpinCNN, build, grow
from distllg.training import data as datalib


def random_model(seed=0, kind="cnn", **architecture):
    torch.manual_seed(seed)
    model = build({"kind": kind, **architecture}).double().eval()
    if architecture.get("tail"):
        with torch.no_grad():  # constant couplings start at zero; make them count
            model.tail_couplings.normal_(0.0, 0.3)
    return model


@pytest.mark.parametrize("layers, kernel, radius", [(6, 3, 6), (4, 5, 8), (1, 1, 0), (3, 7, 9)])
def test_receptive_radius_is_derived_and_exact(layers, kernel, radius):
    model = random_model(layers=layers, kernel=kernel, channels=4)
    assert model.receptive_radius == radius
    # A one-site change reaches exactly r sites along each axis, no further.
    L = 2 * radius + 5
    x = torch.zeros(1, 3, L, L, dtype=torch.float64, requires_grad=True)
    out = model(x)[0, :, L // 2, L // 2].sum()
    (grad,) = torch.autograd.grad(out, x)
    reach = torch.nonzero(grad.abs().sum(dim=(0, 1)) > 0)
    offsets = (reach - L // 2).abs().max(dim=0).values
    assert offsets.tolist() == [radius, radius]


@pytest.mark.parametrize("kind, architecture", [
    ("cnn", {"layers": 3, "kernel": 3, "channels": 8}),
    ("equivariant", {"layers": 2, "kernel": 3, "channels": 6, "window": 3}),
    ("equivariant", {"layers": 2, "kernel": 3, "channels": 6, "window": 2, "dots": 3}),
    ("symmetric", {"layers": 2, "kernel": 3, "channels": 12, "window": 3, "dots": 2}),
    ("symmetric", {"layers": 2, "kernel": 3, "channels": 12, "window": 2, "dots": 1,
                   "tail": 4}),
    ("symmetric", {"layers": 4, "kernel": 3, "end_kernel": 1, "channels": 12, "window": 2,
                   "dots": 2, "tail": 3})])
@pytest.mark.parametrize("shape, tile", [((12, 12), (slice(0, 12), slice(0, 12))),
                                         ((14, 17), (slice(3, 9), slice(10, 17))),
                                         ((13, 9), (slice(12, 13), slice(0, 5)))])
def test_tiled_mode_equals_periodic_mode(shape, tile, kind, architecture, rng):
    model = random_model(kind=kind, **architecture)
    r = model.receptive_radius
    s = torch.from_numpy(spinlib.random(*shape, rng)[None])
    with torch.no_grad():
        periodic = model(s)
        ys = np.arange(tile[0].start - r, tile[0].stop + r) % shape[0]
        xs = np.arange(tile[1].start - r, tile[1].stop + r) % shape[1]
        padded = s[:, :, ys][:, :, :, xs]
        tiled = model.forward_tile(padded)
    np.testing.assert_allclose(tiled.numpy(), periodic[:, :, tile[0], tile[1]].numpy(),
                               atol=1e-13, rtol=0)


def test_translation_equivariance(rng):
    model = random_model(layers=2, kernel=5, channels=6)
    s = torch.from_numpy(spinlib.random(12, 15, rng)[None])
    with torch.no_grad():
        moved = model(torch.roll(s, (4, -3), dims=(2, 3)))
        expected = torch.roll(model(s), (4, -3), dims=(2, 3))
    np.testing.assert_allclose(moved.numpy(), expected.numpy(), atol=1e-13)


@pytest.mark.parametrize("kwargs, message", [({"kernel": 4}, "odd"), ({"layers": 0}, ">= 1"),
                                             ({"activation": "relu6"}, "choose one of"),
                                             ({"predicts": "energy"}, "predicts")])
def test_bad_architecture(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpinCNN(**kwargs)


@pytest.mark.parametrize("kind", ["equivariant", "symmetric"])
@pytest.mark.parametrize("layers, window, dots, radius",
                         [(2, 1, 1, 3), (2, 5, 1, 5), (4, 3, 1, 5), (2, 2, 3, 5)])
def test_equivariant_receptive_radius_is_exact(layers, window, dots, radius, kind, rng):
    model = random_model(kind=kind, layers=layers, window=window, dots=dots, channels=12)
    assert_reach(model, radius, rng)


def assert_reach(model, radius, rng):
    """The architectural radius is ``radius`` and the centre torque's gradient reaches
    exactly that far (beyond round-off: the constant tail is summed by FFT, which spreads
    1e-16 relative noise over the block)."""
    assert model.receptive_radius == radius
    L = 2 * radius + 5
    x = torch.from_numpy(spinlib.random(L, L, rng)[None]).requires_grad_(True)
    out = model(x)[0, :, L // 2, L // 2].sum()
    (grad,) = torch.autograd.grad(out, x)
    sensitivity = grad.abs().sum(dim=(0, 1))
    reach = torch.nonzero(sensitivity > 1e-12 * sensitivity.max())
    assert (reach - L // 2).abs().max().item() == radius


@pytest.mark.parametrize("kind", ["equivariant", "symmetric"])
@pytest.mark.parametrize("layers, end_kernel, radius", [(1, 1, 2), (2, 1, 2), (4, 1, 4),
                                                        (3, 5, 7)])
def test_receptive_radius_with_other_end_kernels_is_exact(kind, layers, end_kernel, radius,
                                                          rng):
    """The first and last convolutions of size end_kernel: ``reach = dots + (end_kernel - 1)
    + (layers - 2) (kernel - 1) / 2`` (dots = 2, kernel 3; one layer counts once)."""
    model = random_model(kind=kind, layers=layers, window=1, dots=2, channels=12,
                         end_kernel=end_kernel)
    assert [conv.weight.shape[-1] for conv in model.convs] == (
        [end_kernel] if layers == 1 else [end_kernel] + [3] * (layers - 2) + [end_kernel])
    assert_reach(model, radius, rng)


@pytest.mark.parametrize("layers, window, dots, tail, radius",
                         [(2, 1, 1, 5, 5), (2, 2, 1, 3, 3), (4, 1, 1, 3, 5)])
def test_receptive_radius_with_constant_tail_is_exact(layers, window, dots, tail, radius, rng):
    model = random_model(kind="symmetric", layers=layers, window=window, dots=dots,
                         channels=12, tail=tail)
    assert_reach(model, radius, rng)


@pytest.mark.parametrize("kind, tail", [("equivariant", 0), ("symmetric", 0), ("symmetric", 4)])
def test_equivariant_model_rotates_with_the_spins_exactly(kind, tail, rng):
    model = random_model(kind=kind, layers=2, window=2, channels=12, dots=2,
                         **({"tail": tail} if tail else {}))
    s = spinlib.random(9, 11, rng)
    rotation = datalib.random_rotation(rng)
    with torch.no_grad():
        torque = model(torch.from_numpy(s[None]))[0].numpy()
        rotated = model(torch.from_numpy(datalib.rotate_spins(rotation, s)[None]))[0].numpy()
    assert np.abs(torque).max() > 1e-3
    np.testing.assert_allclose(rotated, datalib.rotate_spins(rotation, torque), atol=1e-13)
    np.testing.assert_allclose(spinlib.dot(torque, s), 0.0, atol=1e-13)  # T perpendicular to S


@pytest.mark.parametrize("kind", ["equivariant", "symmetric"])
def test_equivariant_torque_is_the_documented_sum(kind, rng):
    """T_i = sum_d c_d(i) S_i x S_{i+d} + e_d(i) S_i x (S_i x S_{i+d}), evaluated site by
    site and offset by offset from the network's coefficients, equals the model output."""
    model = random_model(kind=kind, layers=2, window=2, channels=12, dots=1)
    assert model.receptive_radius == model.reach == 3  # coefficients line up with the sites
    Ly, Lx = 7, 8
    s = spinlib.random(Ly, Lx, rng)
    x = torch.nn.functional.pad(torch.from_numpy(s[None]), (3, 3, 3, 3), mode="circular")
    with torch.no_grad():
        coefficients = model.stack(model.features(x))[0].numpy() * float(model.output_scale)
        torque = model(torch.from_numpy(s[None]))[0].numpy()
    n = len(model.offsets)
    expected = np.zeros_like(s)
    for y in range(Ly):
        for x_ in range(Lx):
            si = s[:, y, x_]
            for k, (dx, dy) in enumerate(model.offsets):
                pair = np.cross(si, s[:, (y + dy) % Ly, (x_ + dx) % Lx])
                expected[:, y, x_] += (coefficients[k, y, x_] * pair
                                       + coefficients[n + k, y, x_] * np.cross(si, pair))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(torque, expected, atol=1e-13)


@pytest.mark.parametrize("kind", ["equivariant", "symmetric"])
def test_dot_features_are_the_documented_products(kind, rng):
    """The first features are S_i . S_{i+d} for the model's dot offsets in order (the +-d
    pairs share one product field: a swap of d and -d would survive the symmetry tests),
    checked site by site on a periodic 9 x 11 lattice."""
    model = random_model(kind=kind, layers=2, window=2, channels=12, dots=3)
    Ly, Lx, u = 9, 11, 3
    s = spinlib.random(Ly, Lx, rng)
    x = torch.nn.functional.pad(torch.from_numpy(s[None]), (u, u, u, u), mode="circular")
    with torch.no_grad():
        features = model.features(x)[0].numpy()
    assert features.shape[-2:] == (Ly, Lx)
    for k, (dx, dy) in enumerate(model.dot_offsets):
        expected = np.einsum("cyx,cyx->yx", s, np.roll(s, (-dy, -dx), axis=(1, 2)))
        np.testing.assert_allclose(features[k], expected, atol=1e-15, err_msg=str((dx, dy)))


def test_constant_tail_is_a_texture_independent_coupling(rng):
    """With the CNN's coefficients switched off, the model is the fixed coupling
    T_i = S_i x sum_t c_|t| S_{i+t} + S_i x (S_i x sum_t e_|t| S_{i+t}) over the offsets
    window < |t| <= tail, one (c, e) per orbit: the 6 bond-direction offsets of each shell
    share theirs (a second orbit per shell starts at distance 2)."""
    from distllg.model.point_group import hex_distance

    model = random_model(kind="symmetric", layers=2, window=1, channels=12, dots=1, tail=3)
    with torch.no_grad():
        model.convs[-1].weight_free.zero_()
        model.convs[-1].bias_free.zero_()
    # distance 2: (2, 0)-type and (1, 1)-type; distance 3: (3, 0)-type and 12 others
    assert model.tail_couplings.shape == (2, 4) and len(model.tail_offsets) == 12 + 18
    Ly, Lx = 8, 7
    s = spinlib.random(Ly, Lx, rng)
    with torch.no_grad():
        torque = model(torch.from_numpy(s[None]))[0].numpy()
    c, e = (model.tail_couplings * model.output_scale).detach().numpy()
    expected = np.zeros_like(s)
    for (dx, dy), orbit in zip(model.tail_offsets, model.tail_orbit.tolist(), strict=True):
        assert 1 < hex_distance(dx, dy) <= 3
        neighbour = np.roll(s, (-dy, -dx), axis=(1, 2))
        pair = np.cross(s, neighbour, axis=0)
        expected += c[orbit] * pair + e[orbit] * np.cross(s, pair, axis=0)
    bonds = [model.tail_orbit[model.tail_offsets.index(d)].item()
             for d in [(2, 0), (0, 2), (-2, 2), (-2, 0), (0, -2), (2, -2)]]
    assert len(set(bonds)) == 1
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(torque, expected, atol=1e-13)


def test_build_refuses_unknown_kinds():
    with pytest.raises(ValueError, match="unknown model kind"):
        build({"kind": "transformer"})
    with pytest.raises(ValueError, match="torques only"):
        EquivariantSpinCNN(predicts="field")


def test_point_group_average_is_exactly_lattice_equivariant(rng):
    """The group-averaged prediction (distllg.analysis.symmetry) moves with the lattice
    operations; the plain network, which learns them only by augmentation, does not."""
    from distllg.analysis.symmetry import group_average
    from distllg.training.train import predict

    model = random_model(kind="equivariant", layers=2, window=2, channels=6, dots=1)
    s = spinlib.random(9, 9, rng)[None]
    for matrix in datalib.point_group((9, 9))[1:]:
        iy, ix = datalib.site_permutation(matrix, (9, 9))
        moved = np.ascontiguousarray(s[..., iy, ix])
        np.testing.assert_allclose(group_average(model, moved),
                                   group_average(model, s)[..., iy, ix], atol=1e-14)
        assert np.abs(predict(model, moved) - predict(model, s)[..., iy, ix]).max() > 1e-4


@pytest.mark.parametrize("shape, tail", [((9, 9), 0), ((12, 12), 0), ((12, 12), 5)])
def test_symmetric_model_moves_with_every_lattice_operation(shape, tail, rng):
    """SymmetricSpinCNN (random weights) commutes with all 12 point-group operations of the
    triangular lattice exactly: torque(g S) = g torque(S), sites moved, spins unchanged."""
    from distllg.training.train import predict

    model = random_model(kind="symmetric", layers=3, window=3, channels=24, dots=2, tail=tail)
    s = spinlib.random(*shape, rng)[None]
    torque = predict(model, s)
    assert np.abs(torque).max() > 1e-2
    for matrix in datalib.point_group(shape):
        iy, ix = datalib.site_permutation(matrix, shape)
        moved = predict(model, np.ascontiguousarray(s[..., iy, ix]))
        np.testing.assert_allclose(moved, torque[..., iy, ix], atol=1e-13)


def test_symmetric_model_needs_whole_regular_representations():
    with pytest.raises(ValueError, match="multiple of 12"):
        build({"kind": "symmetric", "channels": 16})


#: A small symmetric network to grow from (or refuse to grow from).
SMALL = {"kind": "symmetric", "layers": 3, "window": 2, "channels": 24, "dots": 2, "tail": 4}


@pytest.mark.parametrize("change", [{"dots": 3}, {"window": 3}, {"tail": 6},
                                    {"dots": 3, "window": 3, "tail": 5},
                                    {"window": 5, "tail": 0}, {"channels": 36},
                                    {"channels": 48, "dots": 3}])
def test_a_grown_model_computes_the_torques_it_grew_from(change, rng):
    """cnn.grow embeds a trained model in one with a wider dot reach, window or tail: the
    larger model starts with the same torques (an offset that leaves the tail for the window
    carries its constant coupling as a bias), and its new weights are live parameters."""
    old = random_model(**SMALL)
    with torch.no_grad():
        old.output_scale.fill_(0.7)
    new = build({**old.architecture, **change}).double()
    grow(old, new)
    def size(model):
        return sum(p.numel() for p in model.parameters())

    assert size(new) > size(old)
    s = torch.from_numpy(spinlib.random(14, 13, rng)[None])
    with torch.no_grad():
        torque = old(s)
        assert torque.abs().max() > 0.1
        torch.testing.assert_close(new(s), torque, rtol=0, atol=1e-13)
        new.convs[0].weight_free.add_(0.1)  # the new feature channels are connected too
        assert (new(s) - torque).abs().max() > 1e-3


def test_grown_channels_start_silent_and_learn(rng):
    """Extra hidden channels: zero weights into old's channels and the output (the torques
    are old's), random weights in, so they are live and the first gradient reaches the
    weights out of them."""
    old = random_model(**SMALL)
    new = build({**old.architecture, "channels": 36}).double()
    grow(old, new)
    last = new.convs[-1]
    seen = {}
    last.register_forward_hook(lambda module, inputs, output: seen.update(x=inputs[0]))
    s = torch.from_numpy(spinlib.random(14, 13, rng)[None])
    new(s).square().sum().backward()
    assert seen["x"][:, 24:].abs().max() > 1e-3  # the new channels carry signal
    assert last.dense()[0][:, 24:].abs().max() == 0  # and start with no weight out
    out_of_new = last.weight_orbit.view(last.shape)[:, 24:].unique()
    out_of_new = out_of_new[out_of_new < last.weight_free.numel()]
    assert last.weight_free.grad[out_of_new].abs().max() > 0
    hidden = new.convs[1].dense()[0]
    assert hidden[24:].abs().max() > 0 and hidden[:24, 24:].abs().max() == 0


@pytest.mark.parametrize("change", [{"dots": 1}, {"channels": 12}, {"layers": 4},
                                    {"window": 3, "tail": 0}, {"kind": "equivariant"}])
def test_grow_refuses_what_it_cannot_embed(change):
    other = {**SMALL, **change}
    if other["kind"] == "equivariant":
        other.pop("tail")
    with pytest.raises(ValueError, match="cannot grow from"):
        grow(build(SMALL), build(other))
