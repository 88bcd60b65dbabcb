"""distllg: CNN-driven LLG spin dynamics of itinerant magnets on MPI tiles.

Units throughout: nearest-neighbour hopping t1 = 1, hbar = 1, lattice constant 1, |S_i| = 1.
Spin arrays are channels-first ``(3, Ly, Lx)`` float64 on the skewed triangular grid.
"""

__version__ = "0.1.0"

from distllg.electrons import SDModel  # noqa: E402
from distllg.electrons.exact import ExactSolver  # noqa: E402

__all__ = ["SDModel", "ExactSolver", "__version__"]
