"""A real one-node SLURM cluster on localhost, for testing the workflow's SLURM profile.

Debian's slurm-wlm and munge (installed when missing), with accounting (slurmdbd on a private
MariaDB), as on a real cluster: ``sacct`` answers, for the tests and for the plugin's own checks.
The node advertises two GPUs through GRES entries backed by ``/dev/null`` and ``/dev/zero``: jobs
asking for ``--gpus=1`` are scheduled as on a GPU cluster and find no CUDA device inside.

Configuration (``<folder>/etc``), state, database and logs live in one private folder. Commands
started here, and the controller and accounting daemons, find the cluster through ``SLURM_CONF``.
Jobs cannot: inside each job the Snakemake SLURM plugin runs ``srun`` with every ``SLURM_*``
variable removed but the job's identity, so that ``srun`` reads the default path,
``/etc/slurm/slurm.conf``, and only where that file is missing a configless cache. On a host with
its own file there (a login node, a machine where another cluster was started) the jobs would ask
that file's controller and fail: "Unable to contact slurm controller". So slurmd, and with it
every job it starts, runs in a private mount namespace (``unshare --mount``) where the cluster's
``etc`` folder is bind-mounted over ``/etc/slurm``: the jobs read the cluster's configuration at
the default path, as on a real node, whatever the host has there. The mount is seen by slurmd's
process tree alone and ends with it; nothing on the host is written, in ``/etc/slurm`` or
``/run/slurm``. ``LocalSlurm(host_conf=...)`` first mounts a foreign ``slurm.conf`` there,
beneath the cluster's, as a host's own would be: the tests run so, and fail should jobs read it.
Every daemon this module starts is recorded by its process id and stopped by it, and only those;
a job's process left behind is found by its mount namespace, slurmd's, and killed at stop.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["munge", "slurm-wlm", "slurmctld", "slurmd", "slurm-client", "slurmdbd"]
PACKAGES += ["mariadb-server"]
COMMANDS = ["munged", "slurmctld", "slurmd", "slurmdbd", "sbatch", "mariadbd"]
MUNGE_PIDFILE = Path("/run/munge/munged.pid")
#: Where SLURM clients without SLURM_CONF look for slurm.conf (Debian's compiled-in default).
DEFAULT_CONF_DIR = Path("/etc/slurm")
#: Stand-ins for GPU device files: the node advertises one GPU per file, so two GPU jobs can run
#: side by side on its 2 cores, each with CUDA_VISIBLE_DEVICES set and no CUDA device inside.
GPU_FILES = ("/dev/null", "/dev/zero")
GPUS = len(GPU_FILES)


class ClusterError(RuntimeError):
    """The cluster could not be installed or started; the message says which step failed."""


def can_run_here() -> str | None:
    """Why a cluster cannot be started on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (apt-get, munged, slurmd)"
    if not all(shutil.which(c) for c in COMMANDS) and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    namespace = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if namespace.returncode != 0:
        return f"needs a mount namespace for slurmd: unshare --mount: {namespace.stderr.strip()}"
    return None


def install_packages() -> None:
    """Install SLURM, munge and MariaDB from Debian when any command is missing."""
    if all(shutil.which(c) for c in COMMANDS):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError(f"apt-get install failed: {result.stderr[-1000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_pid(pidfile: Path) -> int | None:
    """The pid in a daemon's pid file, or None while the file is missing or not yet written."""
    try:
        words = pidfile.read_text().split()
    except FileNotFoundError:
        return None
    return int(words[0]) if words and words[0].isdigit() else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


class LocalSlurm:
    """Start with :meth:`start`, stop with :meth:`stop` (or use :func:`running_cluster`)."""

    def __init__(
        self, folder: Path, partition: str = "mgat-test", host_conf: str | None = None
    ) -> None:
        """``host_conf``: a slurm.conf to show slurmd's process tree at the default path,
        beneath the cluster's own, as a host's configuration would be (tests only)."""
        self.folder = folder
        self.partition = partition
        self.host_conf = host_conf
        self.node = socket.gethostname().split(".")[0]
        self.etc = folder / "etc"  # mounted over /etc/slurm for slurmd and its jobs
        self.conf = self.etc / "slurm.conf"
        self.started: list[tuple[str, int]] = []  # (daemon, pid), in start order
        self.namespace: str | None = None  # slurmd's mount namespace, where every job runs
        self.ports = {name: free_port() for name in ("ctld", "slurmd", "dbd", "db")}
        self.db_password = secrets.token_hex(12)

    @property
    def env(self) -> dict[str, str]:
        """The environment of every client command (sbatch, squeue, snakemake)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed: {result.stderr.strip()[-800:]}")
        return result

    # -- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        install_packages()
        if not DEFAULT_CONF_DIR.is_dir():  # Debian's slurm-client and slurmd packages make it
            raise ClusterError(f"no {DEFAULT_CONF_DIR} to mount the cluster's configuration on")
        self.folder.mkdir(parents=True, exist_ok=True)
        for sub in ("etc", "state", "spool", "db"):
            (self.folder / sub).mkdir(exist_ok=True)
        self._start_munge()
        self._start_mariadb()
        self._write_config()
        self._start_daemon("slurmdbd", self.folder / "slurmdbd.pid", "slurmdbd")
        wait_for(
            "slurmdbd",
            lambda: self.run("sacctmgr", "-n", "show", "cluster", check=False).returncode == 0,
        )
        self.run("sacctmgr", "-i", "add", "cluster", "mgattest")
        self._start_daemon("slurmctld", self.folder / "slurmctld.pid", "slurmctld")
        wait_for("slurmctld", lambda: "UP" in self.run("scontrol", "ping", check=False).stdout)
        self._start_slurmd()
        wait_for("the node to be idle", self._node_idle)

    def _start_slurmd(self) -> None:
        """slurmd in a private mount namespace where /etc/slurm is the cluster's ``etc`` folder:
        its jobs inherit the namespace, and their srun, stripped of SLURM_CONF by the plugin,
        reads the cluster's configuration at the default path instead of the host's."""
        layers = [self.etc]
        if self.host_conf is not None:
            host = self.folder / "host-etc"
            host.mkdir(exist_ok=True)
            (host / "slurm.conf").write_text(self.host_conf)
            layers.insert(0, host)  # beneath the cluster's, where a host's own file would be
        mounts = [f"mount --bind {shlex.quote(str(d))} {DEFAULT_CONF_DIR}" for d in layers]
        script = " && ".join([*mounts, 'exec "$@"'])
        self._start_daemon(
            "slurmd",
            self.folder / "slurmd.pid",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            "sh",
            "slurmd",
        )
        namespace = os.readlink(f"/proc/{self.started[-1][1]}/ns/mnt")
        if namespace == os.readlink("/proc/self/ns/mnt"):  # never sweep the host's at stop
            raise ClusterError("slurmd did not get a mount namespace of its own")
        self.namespace = namespace

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.split()
        return out == ["idle"]

    def _start_daemon(self, name: str, pidfile: Path, *command: str) -> None:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError(f"{name} did not start: {result.stderr.strip()[-800:]}")
        # The daemon creates its pid file before it writes the pid: wait for the number itself.
        wait_for(f"{name}'s pid file", lambda: read_pid(pidfile) is not None, timeout=20)
        self.started.append((name, read_pid(pidfile)))

    def _start_munge(self) -> None:
        """Use the machine's munged if one answers; else start one (and stop it afterwards)."""
        if self._munge_works():
            return
        MUNGE_PIDFILE.parent.mkdir(exist_ok=True)
        shutil.chown(MUNGE_PIDFILE.parent, "munge", "munge")
        MUNGE_PIDFILE.unlink(missing_ok=True)
        self._start_daemon("munged", MUNGE_PIDFILE, "runuser", "-u", "munge", "--", "munged")
        wait_for("munge", self._munge_works, timeout=20)

    @staticmethod
    def _munge_works() -> bool:
        encode = subprocess.run(["munge", "-n"], capture_output=True)
        if encode.returncode != 0:
            return False
        decode = subprocess.run(["unmunge"], input=encode.stdout, capture_output=True)
        return decode.returncode == 0

    def _start_mariadb(self) -> None:
        db = self.folder / "db"
        socket_path = self.folder / "mysql.sock"
        init = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={db}",
                "--user=root",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise ClusterError(f"mariadb-install-db failed: {init.stderr[-800:]}")
        pidfile = self.folder / "mariadb.pid"
        server = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={db}",
                f"--socket={socket_path}",
                f"--port={self.ports['db']}",
                "--bind-address=127.0.0.1",
                "--user=root",
                f"--pid-file={pidfile}",
                f"--log-error={self.folder / 'mariadb.log'}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started.append(("mariadbd", server.pid))

        def sql(statement: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [
                    "mariadb",
                    "--no-defaults",
                    f"--socket={socket_path}",
                    "-u",
                    "root",
                    "-e",
                    statement,
                ],
                capture_output=True,
                text=True,
            )

        wait_for("MariaDB", lambda: sql("select 1").returncode == 0)
        user = f"'slurm'@'127.0.0.1' IDENTIFIED BY '{self.db_password}'"
        result = sql(
            f"CREATE DATABASE slurm_acct_db; CREATE USER {user}; "
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
        )
        if result.returncode != 0:
            raise ClusterError(f"creating the accounting database failed: {result.stderr}")

    def _write_config(self) -> None:
        hardware = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
        node_line = next(line for line in hardware.stdout.splitlines() if line.startswith("Node"))
        node_line = " ".join(
            part for part in node_line.split() if not part.startswith(("NodeName=", "UpTime="))
        )
        f, etc = self.folder, self.etc
        self.conf.write_text(
            f"""ClusterName=mgattest
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={self.ports["dbd"]}
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
KillWait=5
StateSaveLocation={f / "state"}
SlurmdSpoolDir={f / "spool"}
SlurmctldPidFile={f / "slurmctld.pid"}
SlurmdPidFile={f / "slurmd.pid"}
SlurmctldLogFile={f / "slurmctld.log"}
SlurmdLogFile={f / "slurmd.log"}
SlurmctldPort={self.ports["ctld"]}
SlurmdPort={self.ports["slurmd"]}
NodeName={self.node} NodeAddr=127.0.0.1 {node_line} Gres=gpu:{GPUS} State=UNKNOWN
PartitionName={self.partition} Nodes=ALL Default=NO MaxTime=INFINITE State=UP
"""
        )
        gpus = "".join(f"NodeName={self.node} Name=gpu File={file}\n" for file in GPU_FILES)
        (etc / "gres.conf").write_text(f"AutoDetect=off\n{gpus}")
        dbd = etc / "slurmdbd.conf"
        dbd.write_text(
            f"""AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={self.ports["dbd"]}
SlurmUser=root
PidFile={f / "slurmdbd.pid"}
LogFile={f / "slurmdbd.log"}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.ports["db"]}
StorageUser=slurm
StoragePass={self.db_password}
StorageLoc=slurm_acct_db
"""
        )
        dbd.chmod(0o600)

    # -- stop ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Cancel this cluster's jobs, then stop the daemons it started, newest first."""
        if any(name == "slurmctld" for name, _ in self.started):
            self.run("scancel", "--full", "--user", "root", check=False)
            with contextlib.suppress(ClusterError):
                wait_for(
                    "jobs to end",
                    lambda: not self.run("squeue", "-h", check=False).stdout.strip(),
                    timeout=20,
                )
        for _name, pid in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(ClusterError):
                wait_for(f"pid {pid} to exit", lambda pid=pid: not pid_alive(pid), timeout=20)
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.started.clear()
        # A job's process that outlives its parent escapes proctrack/linuxproc (seen: a cancelled
        # job's snakemake, which ignores SIGTERM, reparented to init), but not the namespace.
        for pid in self._namespace_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.namespace = None

    def _namespace_pids(self) -> list[int]:
        """The processes left in slurmd's mount namespace: the cluster's own, and only those."""
        if self.namespace is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):  # not a process, or one that just ended
                if entry.name.isdigit() and os.readlink(entry / "ns" / "mnt") == self.namespace:
                    pids.append(int(entry.name))
        return pids
