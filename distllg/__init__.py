"""distllg: CNN-driven LLG spin dynamics of itinerant magnets on MPI tiles.

Units throughout: nearest-neighbour hopping t1 = 1, hbar = 1, lattice constant 1, |S_i| = 1.
Spin arrays are channels-first ``(3, Ly, Lx)`` float64 on the skewed triangular grid.

``SDModel`` and ``ExactSolver`` are loaded on first use, so that importing a subpackage
(``distllg.parallel``, say) loads neither the electrons nor scipy.
"""

__version__ = "0.1.0"

__all__ = ["SDModel", "ExactSolver", "__version__"]


def __getattr__(name: str):
    if name == "SDModel":
        from distllg.electrons import SDModel

        return SDModel
    if name == "ExactSolver":
        from distllg.electrons.exact import ExactSolver

        return ExactSolver
    raise AttributeError(f"module 'distllg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"SDModel", "ExactSolver"})
