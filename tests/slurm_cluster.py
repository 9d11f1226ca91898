"""A real single-node SLURM on loopback, for testing the pipeline's SLURM profile.

Debian's slurm-wlm + munge, daemons started by hand (no systemd on CI machines) and bound
to 127.0.0.1. Settings and traps are those of `shared/reference/slurm-local-cluster.md`:
the config must be /etc/slurm/slurm.conf (the jobstep plugin strips SLURM_CONF before its
inner srun); without slurmdbd `sacct` cannot answer, so the test polls `squeue` instead
(finished jobs stay listed for MinJobAge=600 s). The cluster's own records of every job are
the `jobcomp/filetxt` log and, while MinJobAge lasts, `scontrol show job`. Only the daemons started here are stopped, by PID.

The node advertises 4 CPUs (`config_overrides`) so that two 2-thread jobs run side by side
on CI's 2 cores, and two GPUs as GRES bound to /dev/null and /dev/zero (no device behind
them), so the profile's `gpu: 1` requests are scheduled as on a real GPU partition.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
GRES_CONF = Path("/etc/slurm/gres.conf")
PACKAGES = ("slurm-wlm", "munge")


def available() -> str | None:
    """Why a local cluster cannot run here, or None. Installs the Debian packages when missing and root."""
    if os.geteuid() != 0:
        return "needs root (slurmd runs as root and the config must be /etc/slurm/slurm.conf)"
    if shutil.which("slurmctld") is None:
        if shutil.which("apt-get") is None:
            return "slurm-wlm is not installed and there is no apt-get"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
    return None


def _slurm_conf(state: Path) -> str:
    mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.9)
    return f"""\
ClusterName=handflowtest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation={state}/state
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/log/slurmctld.log
SlurmdLogFile={state}/log/slurmd.log
SlurmdParameters=config_overrides
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state}/log/jobcomp.txt
ReturnToService=2
MinJobAge=600
DefMemPerCPU=1000
SchedulerParameters=sched_interval=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory={mem} Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    """munged + slurmctld + slurmd on loopback; `stop()` ends exactly the processes `start()` began."""

    def __init__(self) -> None:
        # Not under pytest's tmp dir: that is mode 700, and slurmctld runs as user `slurm`.
        self.dir = Path(tempfile.mkdtemp(prefix="handflow-slurm-"))
        self.dir.chmod(0o755)
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self._saved: dict[Path, bytes | None] = {}

    @property
    def jobcomp(self) -> Path:
        return self.dir / "log" / "jobcomp.txt"

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.dir / "log" / f"{name}.out", "wb")  # the daemon writes to it until stop()
        # setpriv and the daemons exec in place, so the PID is the daemon's own
        self.procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)))

    def _write_conf(self, path: Path, text: str) -> None:
        self._saved.setdefault(path, path.read_bytes() if path.exists() else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _wait(self, what: str, check, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if check():
                return
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self._log_tail(name)}")
            time.sleep(0.2)
        raise RuntimeError(f"local SLURM: timed out waiting for {what}:\n{self._log_tail('slurmctld')}\n{self._log_tail('slurmd')}")

    def _log_tail(self, name: str) -> str:
        """The end of a daemon's log (the state dir is removed by stop(), so errors quote it)."""
        logs = [self.dir / "log" / f"{name}.log", self.dir / "log" / f"{name}.out"]
        return "\n".join(p.read_text(errors="replace")[-1500:] for p in logs if p.exists())

    def start(self) -> None:
        for sub in ("state", "spool", "log"):
            (self.dir / sub).mkdir()
        for sub in ("state", "log"):
            shutil.chown(self.dir / sub, "slurm", "slurm")
        self._write_conf(CONF, _slurm_conf(self.dir))
        self._write_conf(GRES_CONF, "NodeName=localhost Name=gpu File=/dev/null\nNodeName=localhost Name=gpu File=/dev/zero\n")
        if not _munge_works():
            run_dir = Path("/run/munge")
            run_dir.mkdir(exist_ok=True)
            shutil.chown(run_dir, "munge", "munge")
            self._spawn("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups", "munged", "--foreground"])
            self._wait("munged", _munge_works)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost"])
        self._wait("the node to be idle", lambda: _out(["sinfo", "-h", "-p", "cpu", "-o", "%t"]) == "idle")

    def stop(self) -> None:
        """Cancel what is still queued, then end our daemons (newest first), then restore /etc/slurm."""
        if any(name == "slurmctld" and p.poll() is None for name, p in self.procs):
            subprocess.run(["scancel", "--user=root"], capture_output=True, check=False, timeout=30)
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for path, data in self._saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        shutil.rmtree(self.dir, ignore_errors=True)

    def job_records(self) -> list[dict[str, str]]:
        """One dict per finished job, from the cluster's own job-completion log."""
        if not self.jobcomp.exists():
            return []
        return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in self.jobcomp.read_text().splitlines()]


def job_details(job_id: str) -> dict[str, str]:
    """slurmctld's record of a job (partition, CPUs, requested GRES), kept for MinJobAge after it ends."""
    fields = _out(["scontrol", "show", "job", "-o", job_id]).split()
    return dict(f.split("=", 1) for f in fields if "=" in f)


def _out(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _munge_works() -> bool:
    return subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0
