"""Geometry of the skewed triangular grid: shells, triangles, reciprocal lattice, k-peaks."""

import numpy as np
import pytest

from distllg import lattice


@pytest.mark.parametrize("shell, distance", [(1, 1.0), (2, np.sqrt(3.0)), (3, 2.0)])
def test_shell_distances_and_inversion_symmetry(shell, distance):
    offsets = lattice.NEIGHBOUR_OFFSETS[shell]
    lengths = np.linalg.norm(lattice.cartesian(offsets[:, 0], offsets[:, 1]), axis=1)
    np.testing.assert_allclose(lengths, distance)
    assert {tuple(o) for o in offsets} == {tuple(-o) for o in offsets}
    # Six distinct directions 60 degrees apart.
    vectors = lattice.cartesian(offsets[:, 0], offsets[:, 1])
    angles = np.sort(np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0])) % 360)
    np.testing.assert_allclose(np.diff(angles), 60.0)


def test_third_neighbours_are_doubled_nearest():
    np.testing.assert_array_equal(lattice.NEIGHBOUR_OFFSETS[3], 2 * lattice.NEIGHBOUR_OFFSETS[1])


def test_no_other_sites_within_third_shell():
    # Brute force over a patch: the three shells hold every site with 0 < |r| <= 2.
    dy, dx = np.mgrid[-4:5, -4:5]
    r = np.linalg.norm(lattice.cartesian(dx, dy), axis=-1)
    near = {(int(a), int(b)) for a, b, d in zip(dx.ravel(), dy.ravel(), r.ravel(), strict=True)
            if 0 < d < 2.0 + 1e-9}
    shells = {tuple(int(v) for v in o) for s in (1, 2, 3) for o in lattice.NEIGHBOUR_OFFSETS[s]}
    assert near == shells


def test_neighbour_table_is_consistent():
    Ly, Lx = 5, 7
    for shell in (1, 2, 3):
        table = lattice.neighbour_table(Ly, Lx, shell)
        # Offset c and offset c+3 are opposite: going there and back returns to the site.
        back = table[table[:, 0], 3]
        np.testing.assert_array_equal(back, np.arange(Ly * Lx))
        for column in range(6):
            assert len(np.unique(table[:, column])) == Ly * Lx  # each offset is a permutation


def test_triangles_tile_the_torus_counter_clockwise():
    Ly, Lx = 6, 9
    up, down = lattice.triangles(Ly, Lx)
    assert up.shape == down.shape == (Ly * Lx, 3)
    # Unwrapped geometry: areas are +sqrt(3)/4 (counter-clockwise) for all triangles.
    corners_up = [(0, 0), (1, 0), (0, 1)]
    corners_down = [(1, 0), (1, 1), (0, 1)]
    for corners in (corners_up, corners_down):
        p = lattice.cartesian(*np.array(corners).T)
        area = 0.5 * np.cross(p[1] - p[0], p[2] - p[0])
        assert area == pytest.approx(np.sqrt(3.0) / 4.0)
    # Every nearest-neighbour bond is shared by exactly two triangles.
    edges = {}
    for tri in np.concatenate([up, down]):
        for a, b in ((0, 1), (1, 2), (2, 0)):
            key = tuple(sorted((tri[a], tri[b])))
            edges[key] = edges.get(key, 0) + 1
    assert len(edges) == 3 * Ly * Lx
    assert set(edges.values()) == {2}


def test_reciprocal_vectors():
    a = np.stack([lattice.A1, lattice.A2])
    b = np.stack([lattice.B1, lattice.B2])
    np.testing.assert_allclose(a @ b.T, 2 * np.pi * np.eye(2), atol=1e-14)


def test_k_grid_and_folding(rng):
    frac = lattice.k_fractions(6, 12)
    assert frac.shape == (6, 12, 2)
    np.testing.assert_allclose(frac[2, 3], (3 / 12, 2 / 6))
    k = rng.uniform(-20, 20, size=(50, 2))
    np.testing.assert_allclose(lattice.k_cartesian(lattice.k_fraction_of(k)), k, atol=1e-12)
    folded = lattice.fold_to_brillouin_zone(k)
    # Same point modulo the reciprocal lattice, and inside the hexagonal zone.
    diff = lattice.k_fraction_of(folded - k)
    np.testing.assert_allclose(diff, np.round(diff), atol=1e-9)
    assert np.all(np.linalg.norm(folded, axis=1) <= 4 * np.pi / 3 + 1e-9)


def test_k_peaks_finds_planted_maxima():
    frac = lattice.k_fractions(12, 12)
    values = np.zeros((12, 12))
    values[1, 2] = 3.0   # (m, n) = (2, 1): Q = (pi/3, 0)
    values[11, 10] = 3.0  # -Q
    values[5, 5] = 1.0
    peak_values, k = lattice.k_peaks(values, frac, count=3)
    np.testing.assert_allclose(peak_values, [3.0, 3.0, 1.0])
    np.testing.assert_allclose(sorted(k[:2, 0]), [-np.pi / 3, np.pi / 3], atol=1e-12)
    np.testing.assert_allclose(k[:2, 1], 0.0, atol=1e-12)



def test_k_peaks_keeps_neighbours_equal_to_round_off():
    """Adjacent symmetry-equal maxima (chi0's six pi/3 peaks on a 12 x 12 grid) are both
    peaks even when summation round-off makes one 1 ulp smaller; a real step is not."""
    frac = lattice.k_fractions(12, 12)
    values = np.zeros((12, 12))
    values[1, 2] = 3.0
    values[2, 1] = np.nextafter(3.0, 0.0)  # grid neighbour of (1, 2), one ulp lower
    assert len(lattice.k_peaks(values, frac, count=6, relative=0.5)[0]) == 2
    values[2, 1] = 2.999
    assert len(lattice.k_peaks(values, frac, count=6, relative=0.5)[0]) == 1


@pytest.mark.parametrize("Ly, Lx", [(4, 12), (12, 3), (1, 1)])
def test_too_small_lattice_is_rejected(Ly, Lx):
    with pytest.raises(ValueError, match="too small for neighbour shells"):
        lattice.check_size(Ly, Lx)


def test_nearest_neighbour_only_needs_three_sites():
    lattice.check_size(3, 3, shells=(1,))
    with pytest.raises(ValueError, match="Lx, Ly >= 5"):
        lattice.check_size(3, 3, shells=(1, 3))
