"""Counter-based normal numbers of lattice sites: a pure function of ``(seed, stream, site)``,
so that a tile draws exactly what a serial run draws at its sites, and nothing needs a
generator state to continue.

The numbers of site ``(y, x)`` on stream ``n``: the Philox-4x64-10 block (Salmon et al.,
SC'11; the generator of numpy's ``np.random.Philox``) with key ``(seed, n)`` and counter
``(y Lx + x + 1, 0, 0, 0)`` (where numpy's ``Philox(counter=y Lx + x)`` draws its first
block) gives four 64-bit words, their top 53 bits four uniform numbers in
(0, 1], and Box-Muller turns them into three standard normal components (the fourth normal
is unused). The thermal noise uses the step number as its stream
(:mod:`distllg.dynamics.thermal`), the initial spins streams of their own near 2^64
(:mod:`distllg.initial`).

The generator is written with torch's int64 tensors, so the numbers are made on whatever
device holds the spins (CPU or GPU) with no host copy: each 64-bit word is kept as two
32-bit halves, whose products fit 64 bits; the words equal numpy's Philox bit for bit (a
test checks it). The normal numbers then go through the device's ``log``, ``sqrt``, ``cos``
and ``sin``: the same on every rank and in every tile of one device type, within an ulp or
two between CPU and GPU.
"""

from __future__ import annotations

import torch

from distllg import lattice

_MASK = 0xFFFFFFFF
#: Philox-4x64 round multipliers and Weyl key increments, as (high, low) 32-bit halves.
_M0 = (0xD2E7470E, 0xE14C6C93)
_M1 = (0xCA5A8263, 0x95121157)
_W0 = (0x9E3779B9, 0x7F4A7C15)
_W1 = (0xBB67AE85, 0x84CAA73B)
ROUNDS = 10


def _split(value: int) -> tuple[int, int]:
    value = int(value) % 2**64
    return value >> 32, value & _MASK


def _mulhilo(a: tuple[int, int], b: tuple[torch.Tensor, torch.Tensor]):
    """The 128-bit product of the constant ``a`` and the words ``b``, as the (high, low)
    halves of its upper and lower 64-bit words. Halves are < 2^32, so each partial product
    fits 64 bits (int64 products wrap; masks read the bits back)."""
    ah, al = a
    bh, bl = b
    p0, p1, p2, p3 = al * bl, al * bh, ah * bl, ah * bh
    t = ((p0 >> 32) & _MASK) + (p1 & _MASK) + (p2 & _MASK)
    u = ((p1 >> 32) & _MASK) + ((p2 >> 32) & _MASK) + (p3 & _MASK) + (t >> 32)
    high = ((((p3 >> 32) & _MASK) + (u >> 32)) & _MASK, u & _MASK)
    low = (t & _MASK, p0 & _MASK)
    return high, low


def _xor(a, b):
    return a[0] ^ b[0], a[1] ^ b[1]


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    low = a[1] + b[1]
    return (a[0] + b[0] + (low >> 32)) & _MASK, low & _MASK


def philox_words(key: tuple[int, int], counters: torch.Tensor) -> list[torch.Tensor]:
    """The four 64-bit words of the Philox-4x64-10 blocks with ``key`` (two integers in
    [0, 2^64)) and counters ``(counters, 0, 0, 0)`` (``counters``: int64 tensor of
    non-negative integers below 2^63), each word as an int64 tensor of its top 53 bits
    (what the uniforms use), shaped like ``counters``."""
    zero = torch.zeros_like(counters)
    x = [(counters >> 32, counters & _MASK), (zero, zero), (zero, zero), (zero, zero)]
    k0, k1 = _split(key[0]), _split(key[1])
    for round_ in range(ROUNDS):
        if round_:
            k0, k1 = _add(k0, _W0), _add(k1, _W1)
        hi0, lo0 = _mulhilo(_M0, x[0])
        hi1, lo1 = _mulhilo(_M1, x[2])
        x = [_xor(_xor(hi1, x[1]), k0), lo1, _xor(_xor(hi0, x[3]), k1), lo0]
    return [(high << 21) | (low >> 11) for high, low in x]


def site_normals(seed: int, stream: int, shape: tuple[int, int],
                 region: tuple[slice, slice] | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal numbers ``(3, ny, nx)`` (float64 on ``device``) for the sites of
    ``region`` (slices of the global ``shape = (Ly, Lx)`` lattice; default all of it) on
    ``stream`` (a step of the thermal noise), the same for a site whatever region holds
    it."""
    Ly, Lx = shape
    y0, y1, x0, x1 = lattice.bounds(Ly, Lx, region)
    rows = torch.arange(y0, y1, dtype=torch.int64, device=device)
    columns = torch.arange(x0, x1, dtype=torch.int64, device=device)
    counters = rows[:, None] * Lx + columns[None, :] + 1
    words = philox_words((seed, stream), counters)
    # 53-bit uniforms in (0, 1]: 1 - u avoids log(0)
    uniform = [1.0 - w.to(torch.float64) * 2.0**-53 for w in words]
    radius = [torch.sqrt(-2.0 * torch.log(u)) for u in uniform[0::2]]
    angle = [2.0 * torch.pi * u for u in uniform[1::2]]
    return torch.stack([radius[0] * torch.cos(angle[0]), radius[0] * torch.sin(angle[0]),
                        radius[1] * torch.cos(angle[1])])
