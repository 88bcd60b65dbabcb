"""A real one-node SLURM cluster for tests: munged, slurmctld and slurmd from Debian's
slurm-wlm and munge packages, on localhost, in a temporary directory with its own ports,
key and spool (no systemd, no cgroups: proctrack/linuxproc, task/none). Needs root, as the
daemons run as root here."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch")


def available() -> str:
    """Empty when a local cluster can be started here, else the reason it cannot."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        return f"missing {', '.join(missing)} (Debian: slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "the local SLURM daemons run as root"
    return ""


class LocalSlurm:
    """Start with :meth:`start`, stop with :meth:`stop`; ``env`` points the SLURM commands
    at this cluster."""

    def __init__(self, folder: Path, cpus: int | None = None):
        self.folder = Path(folder)
        self.cpus = cpus or os.cpu_count()
        port = random.randint(20000, 29000)
        self.ports = (port, port + 1)
        # Ranks started by srun do not know that the node is oversubscribed (mpirun tells
        # them): without this, a rank waiting in MPI spins and takes the core that the other
        # rank, or the rest of the test suite, needs.
        self.env = {**os.environ, "SLURM_CONF": str(self.folder / "slurm.conf"),
                    "OMPI_MCA_mpi_yield_when_idle": "1"}

    def _config(self) -> str:
        f, host = self.folder, socket.gethostname().split(".")[0]
        return f"""ClusterName=distllgtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={self.ports[0]}
SlurmdPort={self.ports[1]}
AuthType=auth/munge
AuthInfo=socket={f}/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={f}/state
SlurmdSpoolDir={f}/spool
SlurmctldPidFile={f}/slurmctld.pid
SlurmdPidFile={f}/slurmd.pid
SlurmctldLogFile={f}/log/slurmctld.log
SlurmdLogFile={f}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=30
OverTimeLimit=0
InactiveLimit=0
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""

    def start(self, timeout: float = 60) -> None:
        f = self.folder
        for sub in ("munge", "state", "spool", "log"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        (f / "munge").chmod(0o700)
        key = f / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        (f / "slurm.conf").write_text(self._config())
        subprocess.run(["munged", "--force", f"--socket={f}/munge/munge.sock",
                        f"--key-file={key}", f"--log-file={f}/log/munged.log",
                        f"--pid-file={f}/munge/munged.pid", f"--seed-file={f}/munge/seed"],
                       check=True, capture_output=True)
        subprocess.run(["slurmctld", "-i"], env=self.env, check=True, capture_output=True)
        subprocess.run(["slurmd"], env=self.env, check=True, capture_output=True)
        start = time.perf_counter()
        while "idle" not in self.command("sinfo", "-h", "-o", "%T"):
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"the local SLURM node did not come up:\n{self.logs()}")
            time.sleep(0.5)

    def command(self, *args: str, check: bool = False) -> str:
        done = subprocess.run(args, env=self.env, capture_output=True, text=True,
                              check=check, timeout=60)
        return done.stdout

    def sbatch(self, *args: str, cwd=None) -> int:
        done = subprocess.run(["sbatch", "--parsable", *args], env=self.env, cwd=cwd,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"sbatch failed: {done.stderr}")
        return int(done.stdout.strip().split(";")[0])

    def wait_until_empty(self, timeout: float) -> None:
        """Until no job is pending or running (a chain's successors included)."""
        start = time.perf_counter()
        while self.command("squeue", "-h", "-o", "%i").strip():
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"jobs still queued after {timeout} s:\n"
                                   f"{self.command('squeue')}")
            time.sleep(1)

    def job_states(self) -> dict[int, str]:
        """State of every job the controller remembers (MinJobAge = 600 s)."""
        out = self.command("scontrol", "show", "job", "-o")
        states = {}
        for line in out.splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            if "JobId" in fields:
                states[int(fields["JobId"])] = fields.get("JobState", "?")
        return states

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in (self.folder / "log").glob("*.log"))

    def stop(self) -> None:
        self.command("scancel", "--user=root")
        for name in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            pid_file = self.folder / name
            if pid_file.is_file():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
        time.sleep(1)
