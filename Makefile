# distllg: two commands do everything on a fresh Debian machine.
#   make run   install what is missing, then run the main job on the embedded default config
#   make test  install what is missing, then run the serial and the multi-rank tests
# Both are idempotent: a second call installs nothing.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DEBIAN_PACKAGES := openmpi-bin python3-venv python3-mpi4py python3-h5py-mpi python3-petsc4py \
                   python3-scipy python3-matplotlib
# Only the tests need these: a one-node SLURM cluster (tests/slurm_cluster.py).
TEST_DEBIAN_PACKAGES := slurmctld slurmd slurm-client munge libpmix-dev
PETSC4PY_PACKAGE := python3-petsc4py-real3.18
SYSTEM_PYTHON := /usr/bin/python3
RUN_CONFIG ?= configs/default.toml

# OpenMPI refuses root and more ranks than cores unless told; tests and runs need both here.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# One BLAS thread per rank under mpirun; serial runs keep all cores.
MPIRUN := mpirun --bind-to none -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1
PYTEST := $(PY) -m pytest --color=no -q

.PHONY: run test test-fast test-serial test-mpi setup setup-test lint bench clean

# One rank per core of a 2-core machine: 4.4 min. More ranks than cores only add halo work
# (a halo of r = 11 around a 24 x 24 tile more than triples it); 1, 2 and 4 ranks ended
# alike (docs/physics.md, "What `make run` shows").
RUN_RANKS ?= 2

# --restart auto: a second `make run` finds the finished run and only redoes its plots.
run: setup
	$(MPIRUN) -n $(RUN_RANKS) $(PY) -m distllg run $(RUN_CONFIG) --restart auto

test: setup-test lint test-serial test-mpi

# Under 3 minutes: everything not marked slow (physics, restart, I/O, the tests of every
# module) and the multi-rank tests on 2 ranks (parity, halo, parallel HDF5).
test-fast: setup-test
	$(PYTEST) -m "not mpi and not slow" tests
	$(MPIRUN) -n 2 $(PYTEST) --with-mpi -m "mpi and not slow" tests

test-serial:
	$(PYTEST) -m "not mpi" tests

test-mpi:
	for n in 1 2 3 4; do $(MPIRUN) -n $$n $(PYTEST) --with-mpi -m mpi tests || exit 1; done

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed $(VENV)/.installed-test

# Installs the Debian packages of $(1) that are missing (sudo when not root).
define apt_install
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:" $$missing; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

$(VENV)/.installed-test: $(VENV)/.installed Makefile
	$(call apt_install,$(TEST_DEBIAN_PACKAGES))
	touch $@

# Debian's MPI stack (OpenMPI, mpi4py, parallel h5py, PETSc) lives in the system site-packages;
# the venv sees it and adds torch (CPU wheel), pytest, pytest-mpi and the package itself.
$(VENV)/.installed: setup.cfg pyproject.toml Makefile
	$(call apt_install,$(DEBIAN_PACKAGES))
	test -x $(PY) || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	petsc=$$(dpkg -L $(PETSC4PY_PACKAGE) | grep -m1 '/dist-packages$$'); \
	echo "$$petsc" > "$$site/distllg-petsc4py.pth"
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0" "numpy<2" pytest pytest-mpi ruff \
	    "import-linter==2.16"
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -c "import torch, mpi4py, h5py, petsc4py, scipy, matplotlib, distllg"
	touch $@

# ruff, then the import contracts of setup.cfg ([importlinter]; docs/architecture.md).
lint: setup
	$(PY) -m ruff check distllg tests bench
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	$(PY) bench/exact.py
	$(PY) bench/llg.py
	$(PY) bench/scaling.py
	$(PY) bench/speedup.py
	$(PY) bench/io.py
	$(PY) bench/kpm.py
	$(PY) bench/labels.py

clean:
	rm -rf $(VENV) out *.egg-info
