# Sourced by the distllg job scripts; submit them from the repository root (sbatch runs a
# copy of the script, so this file is found through $SLURM_SUBMIT_DIR).
#   DISTLLG_PYTHON    Python that has distllg (default: <repository>/.venv/bin/python)
#   DISTLLG_SRUN_MPI  srun's --mpi plugin (default: pmix; HPE Cray EX: cray_shasta)

PY=${DISTLLG_PYTHON:-$SLURM_SUBMIT_DIR/.venv/bin/python}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OPENBLAS_NUM_THREADS=$OMP_NUM_THREADS
export H5PY_ALWAYS_USE_MPI=1  # Debian's h5py: the parallel build under srun too

# distllg_run CONFIG [srun options]: one leg of a run, one rank per task. It continues from
# the newest checkpoint when there is one (--restart auto) and stops cleanly, with a
# checkpoint, on the SIGUSR1 of '#SBATCH --signal=USR1@SECONDS' or the SIGTERM of the time
# limit (srun hands both to every task).
distllg_run() {
    local config=$1
    shift
    srun --mpi="${DISTLLG_SRUN_MPI:-pmix}" --kill-on-bad-exit=1 "$@" \
        "$PY" -m distllg.run "$config" --restart auto
}

# distllg_complete CONFIG: exit status 0 when the run of CONFIG has reached its last step.
distllg_complete() {
    "$PY" -m distllg inspect --complete "$1"
}
