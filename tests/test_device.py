"""Device, precision and halo place of a rank: the choices the run makes without a GPU, and
what it says about them."""

import pytest
import torch

from distllg.parallel import device as devicelib


@pytest.mark.parametrize("flags, expected", [("fpu sse avx512f avx512_bf16", torch.bfloat16),
                                             ("fpu sse amx_bf16 amx_tile", torch.bfloat16),
                                             ("fpu sse avx2 avx512f", torch.float32)])
def test_auto_precision_is_bfloat16_only_where_the_cpu_computes_it_natively(
        tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(devicelib, "CPUINFO", cpuinfo)
    cpu = torch.device("cpu")
    assert devicelib.precision("auto", cpu) == expected
    for name in ("float64", "float32", "bfloat16"):
        assert devicelib.precision(name, cpu) == getattr(torch, name)
    monkeypatch.setattr(devicelib, "CPUINFO", tmp_path / "missing")
    assert devicelib.precision("auto", cpu) == torch.float32


def test_halo_place_on_the_cpu():
    cpu = torch.device("cpu")
    assert devicelib.halo_place("auto", cpu) == (None, False, "halo in host memory")
    assert devicelib.halo_place("host", cpu)[0] is None
    assert devicelib.halo_place("device", cpu)[:2] == (cpu, False)
    with pytest.raises(ValueError, match="halo place 'gpu'"):
        devicelib.halo_place("gpu", cpu)


def test_a_gpu_halo_stages_its_strips_unless_mpi_is_cuda_aware(monkeypatch):
    """The padded tile stays on the GPU; the CUDA-aware check decides whether the strips go
    to MPI there or through host memory, and its answer is named (no GPU needed: the device
    object is only compared)."""
    gpu = torch.device("cuda", 0)
    for aware, staged, text in ((True, False, "GPU to GPU"), (False, True, "is not CUDA-aware"),
                                (None, True, "does not say whether")):
        monkeypatch.setattr(devicelib, "cuda_aware_mpi", lambda aware=aware: aware)
        for preference in ("auto", "device"):
            place, got, note = devicelib.halo_place(preference, gpu)
            assert place == gpu and got == staged and text in note
    assert devicelib.halo_place("host", gpu)[:2] == (gpu, True)


def test_open_mpi_answers_the_cuda_aware_question():
    """Open MPI with its ompi_info (Debian's: built without CUDA) answers False or True."""
    import shutil

    from mpi4py import MPI

    if "Open MPI" not in MPI.Get_library_version() or shutil.which("ompi_info") is None:
        pytest.skip("not Open MPI with ompi_info")
    assert devicelib.cuda_aware_mpi() in (True, False)
