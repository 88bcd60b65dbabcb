"""Skyrmion census of a final state: cores = connected regions (periodic, 6-neighbour) with
S^z < 0; the charge of a core = chirality density summed over the sites within 4 lattice
steps of the core's centre (docs/physics.md).
    python docs/scripts/census.py out/relax_L96_h0.02/output.h5
(config configs/relax_L96_h0.02.toml in git history, 24a55a2)"""
import sys, numpy as np
from distllg.io import output as outputlib
from distllg.dynamics import observables as obs
from distllg.model.point_group import hex_distance
from scipy import ndimage

path = sys.argv[1]
_, s = outputlib.read_frame(path)
L = s.shape[-1]
rho = obs.chirality_density(s)
core = s[2] < 0
# periodic labelling: label a 3x3 tiling, keep the centre copy, merge via wrap
lab, n = ndimage.label(np.tile(core, (3, 3)), structure=[[0, 1, 1], [1, 1, 1], [1, 1, 0]])
centre = lab[L:2 * L, L:2 * L]
ids = [i for i in np.unique(centre) if i]
# a core crossing the boundary appears once in the tiled labels with one id: fine
yy, xx = np.mgrid[0:L, 0:L]
charges, sizes = [], []
for i in ids:
    ys, xs = np.nonzero(lab == i)
    # centre of the core in the tiling, mapped back
    cy, cx = ys.mean() - L, xs.mean() - L
    if not (0 <= cy < L and 0 <= cx < L):
        continue
    dy = (yy - round(cy) + L // 2) % L - L // 2
    dx = (xx - round(cx) + L // 2) % L - L // 2
    near = hex_distance(dx, dy) <= 4
    charges.append(rho[near].sum()); sizes.append(int((lab == i).sum()))
charges = np.array(charges)
print(f"{path}: Q = {rho.sum():+.3f}, m_z = {s[2].mean():.3f}, cores {len(charges)}: "
      f"{(charges > 0.5).sum()} with Q ~ +1, {(charges < -0.5).sum()} with Q ~ -1, "
      f"{(abs(charges) <= 0.5).sum()} other; charges {np.round(np.sort(charges), 2).tolist()[:6]} ... {np.round(np.sort(charges), 2).tolist()[-6:]}")
