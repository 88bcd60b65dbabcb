"""Electrons of the s-d (Kondo-lattice) model with classical local spins.

    H = - sum_{i,j,s} t_ij c+_{is} c_{js} + J sum_i S_i . (c+_i sigma c_i) - h sum_i S_i^z

on the triangular lattice, with hoppings t1, t2, t3 to the first three neighbour shells,
grand canonical at chemical potential mu, electrons at temperature kT (0 = ground state).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class SDModel:
    """Parameters of the s-d model, in units of t1 = 1 (energies) and hbar = 1.

    Defaults are the triple-Q skyrmion-crystal set of Ozawa, Hayami and Motome,
    PRL 118, 147205 (2017). ``kT`` is the electron temperature (Fermi smearing), ``h`` the
    Zeeman field on the local spins (along +z).
    """

    t1: float = 1.0
    t2: float = 0.0
    t3: float = -0.85
    J: float = 1.0
    mu: float = -3.5
    h: float = 0.0
    kT: float = 0.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"SDModel.{field.name} must be a number; got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"SDModel.{field.name} must be finite; got {value!r}")
            object.__setattr__(self, field.name, float(value))
        if self.kT < 0:
            raise ValueError(f"SDModel.kT (electron temperature) must be >= 0; got {self.kT}")

    @property
    def hoppings(self) -> dict[int, float]:
        """Non-zero hoppings by neighbour shell: ``{1: t1, 2: t2, 3: t3}``."""
        return {s: t for s, t in ((1, self.t1), (2, self.t2), (3, self.t3)) if t != 0.0}

    def as_dict(self) -> dict[str, float]:
        """Parameters as a plain dict (for metadata and HDF5 attributes)."""
        return dataclasses.asdict(self)


__all__ = ["SDModel"]
