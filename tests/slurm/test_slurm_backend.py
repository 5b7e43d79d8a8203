#!/usr/bin/env python3
"""System test of `vmsim sweep --backend slurm` against a real Slurm on this host.

Stands up a one-node Slurm cluster on localhost (its own munged, slurmctld and slurmd, with their key,
sockets, ports, state and logs in a private folder under /tmp), runs small sweeps through the Slurm
backend and through the local backend, and checks that the result tables are identical except for host
times; then the same with --no-wait and `vmsim sweep collect`, a failing run included, and --resume.

Usage: test_slurm_backend.py VMSIM_BINARY
Needs root (slurmd runs jobs as their user and must start as root). Installs Debian's slurm-wlm and munge
with apt-get if they are missing. Every wait is bounded; the daemons are stopped on every way out (and die
with this script if it is killed: PR_SET_PDEATHSIG).
"""

import csv
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

WAIT = 60  # seconds: the bound of every wait for a daemon or a job
T0 = time.monotonic()
DAEMONS = []  # (name, Popen) started by this script


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f} s] {msg}", flush=True)


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def die_with_parent():
    # Runs in the child before exec: SIGKILL when this script ends, however it ends.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run(args, timeout=WAIT, check=True, env=None):
    """Runs args, returns CompletedProcess (text). Fails on timeout, and on a non-zero exit if check."""
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        fail(f"timed out after {timeout} s: {' '.join(args)}")
    if check and r.returncode != 0:
        fail(f"exit code {r.returncode}: {' '.join(args)}\nstdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def ensure_installed():
    needed = ["munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol"]
    missing = [t for t in needed if shutil.which(t) is None]
    if not missing:
        return
    log(f"installing slurm-wlm and munge (missing: {' '.join(missing)})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], timeout=300, env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurm-wlm", "munge"], timeout=600, env=env)
    still = [t for t in needed if shutil.which(t) is None]
    if still:
        fail(f"after installing slurm-wlm and munge, still not on PATH: {' '.join(still)}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_leftovers(root):
    """Stops daemons a killed earlier run of this test left (their command line names root), by pid."""
    pids_file = os.path.join(root, "pids")
    if not os.path.exists(pids_file):
        return
    for line in open(pids_file):
        pid = int(line.split()[0])
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if root in cmdline:
            log(f"stopping leftover daemon {pid} of an earlier run")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start(name, args, root, env):
    out = open(os.path.join(root, f"{name}.out"), "w")
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         preexec_fn=die_with_parent)
    DAEMONS.append((name, p))
    with open(os.path.join(root, "pids"), "a") as f:
        f.write(f"{p.pid} {name}\n")
    return p


def stop_daemons():
    for name, p in reversed(DAEMONS):
        if p.poll() is None:
            p.terminate()
    for name, p in reversed(DAEMONS):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    DAEMONS.clear()


def daemon_log(root, name, lines=15):
    path = os.path.join(root, f"{name}.out")
    text = open(path).read().splitlines() if os.path.exists(path) else []
    return f"--- last lines of {path}:\n" + "\n".join(text[-lines:])


def wait_until(what, predicate, root):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for name, p in DAEMONS:
            if p.poll() is not None:
                fail(f"{name} exited (code {p.returncode}) while waiting for {what}\n{daemon_log(root, name)}")
        if predicate():
            return
        time.sleep(0.2)
    fail(f"{what}: not after {WAIT} s\n" + "\n".join(daemon_log(root, n) for n, _ in DAEMONS))


def stand_up_slurm(root):
    """Starts munged, slurmctld and slurmd for a one-node cluster; returns the environment for clients."""
    os.makedirs(root)
    os.chmod(root, 0o755)  # munged wants its socket's folder to be searchable by everyone
    for d in ("state", "spool", "runs"):
        os.makedirs(os.path.join(root, d))
    key = os.path.join(root, "munge.key")
    with open(key, "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(key, 0o400)
    sock = os.path.join(root, "munge.socket")
    env = dict(os.environ, SLURM_CONF=os.path.join(root, "slurm.conf"))

    start("munged", ["munged", "-F", f"--socket={sock}", f"--key-file={key}",
                     f"--pid-file={root}/munged.pid", f"--seed-file={root}/munged.seed",
                     f"--log-file={root}/munged.log"], root, env)
    wait_until("munged's socket", lambda: os.path.exists(sock), root)
    cred = run(["munge", "-n", "-S", sock]).stdout
    r = subprocess.run(["unmunge", "-S", sock], input=cred, capture_output=True, text=True, timeout=WAIT)
    if r.returncode != 0:
        fail(f"munge credential does not decode: {r.stderr}")

    mem_mib = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem_mib = int(line.split()[1]) // 1024
    cpus = min(2, os.cpu_count() or 1)
    host = socket.gethostname().split(".")[0]
    conf = f"""# One-node Slurm for vmsim's test (tests/slurm/test_slurm_backend.py)
ClusterName=vmsimtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mib // 2} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    with open(env["SLURM_CONF"], "w") as f:
        f.write(conf)
    start("slurmctld", ["slurmctld", "-D", "-c", "-f", env["SLURM_CONF"]], root, env)
    start("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", env["SLURM_CONF"]], root, env)

    def node_idle():
        r = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%t"], capture_output=True, text=True,
                           timeout=WAIT, env=env)
        return r.returncode == 0 and r.stdout.strip() == "idle"

    wait_until("the node idle in sinfo", node_idle, root)
    log(f"slurm is up: node localhost idle ({cpus} CPUs, {mem_mib // 2} MiB), config {env['SLURM_CONF']}")
    return env


BASE = """sim: {mode: lt, seed: 1, checker: true}
system:
  cores: 1
  core:
    mmu:
      tlb:
        stlb: [{entries: 1024, ways: 8, hit_latency: 7}]
  memory:
    nodes: [{size: 64MiB}]
processes:
  - name: rnd
    workload: {kind: random, footprint: 8MiB, accesses: 100000, read_fraction: 0.8}
"""

# 2 values x 2 seeds: four ok runs.
SPEC = """base: base.yaml
set: {processes.0.workload.accesses: 3000}
grid:
  system.core.mmu.tlb.stlb.0.entries: [256, 512]
seeds: [1, 2]
metrics: [tlb_misses, avg_access_latency_core_cycles]
"""

# Two runs, the first with a value the config rejects (exit code 2, its error recorded).
FAILING_SPEC = """base: base.yaml
set: {processes.0.workload.accesses: 2000}
grid:
  system.core.mmu.tlb.stlb.0.entries: [0, 512]
"""


def tables(out):
    """results.csv without host_seconds, results.json without host_seconds, summary.csv (or None)."""
    with open(os.path.join(out, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("host_seconds")
    csv_rows = [r[:col] + r[col + 1:] for r in rows]
    results = json.load(open(os.path.join(out, "results.json")))
    for r in results["runs"]:
        del r["host_seconds"]
    summary_path = os.path.join(out, "summary.csv")
    summary = open(summary_path).read() if os.path.exists(summary_path) else None
    return csv_rows, results, summary


def same_tables(slurm_out, local_out, runs):
    s, l = tables(slurm_out), tables(local_out)
    if len(s[0]) != runs + 1:
        fail(f"{slurm_out}/results.csv: {len(s[0]) - 1} rows, expected {runs}")
    for name, a, b in zip(("results.csv", "results.json", "summary.csv"), s, l):
        if a != b:
            fail(f"{name} differs between {slurm_out} (slurm) and {local_out} (local):\n{a}\n---\n{b}")
    for run in l[1]["runs"]:
        for f in ("stats.json", "config.resolved.yaml", "stderr.txt"):
            a = os.path.join(slurm_out, "runs", run["run"], f)
            b = os.path.join(local_out, "runs", run["run"], f)
            if os.path.exists(a) != os.path.exists(b) or (os.path.exists(a) and open(a).read() != open(b).read()):
                fail(f"runs/{run['run']}/{f} differs between the slurm and the local sweep")


def expect(cond, msg):
    if not cond:
        fail(msg)


def vmsim(binary, args, env, code, timeout=90):
    r = run([binary] + args, timeout=timeout, check=False, env=env)
    if r.returncode != code:
        fail(f"vmsim {' '.join(args)}: exit code {r.returncode}, expected {code}\nstdout: {r.stdout}\n"
             f"stderr: {r.stderr}")
    return r


def check_sweeps(binary, root, env):
    os.chdir(root)
    with open("base.yaml", "w") as f:
        f.write(BASE)
    with open("spec.yaml", "w") as f:
        f.write(SPEC)
    with open("failing.yaml", "w") as f:
        f.write(FAILING_SPEC)
    slurm_opts = ["--backend", "slurm", "--mem", "200M", "--time", "5"]

    # Through Slurm, waiting: four runs, two at a time.
    r = vmsim(binary, ["sweep", "spec.yaml", "--out", "s-slurm", "-j", "2"] + slurm_opts, env, 0)
    expect("4 runs: 4 ran, 0 skipped (complete before), 0 failed" in r.stdout, f"slurm sweep: {r.stdout}")
    expect(re.search(r"submitted 4 runs as slurm job \d+ \(array 0-3%2\)", r.stdout), f"slurm sweep: {r.stdout}")
    expect(r.stderr.count("sweep: [") == 4, f"one progress line per run expected:\n{r.stderr}")
    script = open("s-slurm/slurm/sweep.sbatch").read()
    for line in ("#SBATCH --array=0-3%2", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=200M", "#SBATCH --time=5"):
        expect(line + "\n" in script, f"{line} not in the script:\n{script}")
    job = open("s-slurm/slurm/job").read().strip()
    outs = [n for d in os.listdir("s-slurm/runs") for n in os.listdir(f"s-slurm/runs/{d}") if n.startswith("slurm-")]
    expect(len(outs) == 8 and all(n.startswith(f"slurm-{job}_") for n in outs),
           f"each run folder should hold its task's slurm-{job}_<i>.out/.err: {outs}")
    log(f"slurm sweep: job {job}, 4 runs ok")

    vmsim(binary, ["sweep", "spec.yaml", "--out", "s-local", "-j", "2"], env, 0)
    same_tables("s-slurm", "s-local", 4)
    log("slurm and local tables identical (but host_seconds)")

    # --resume: everything is complete, nothing is submitted, the same tables come out.
    before = tables("s-slurm")
    r = vmsim(binary, ["sweep", "spec.yaml", "--out", "s-slurm", "--resume"] + slurm_opts, env, 0)
    expect("4 runs: 0 ran, 4 skipped" in r.stdout and "submitted" not in r.stdout, f"resume: {r.stdout}")
    expect(tables("s-slurm") == before, "--resume changed the tables")

    # --no-wait, then collect once the job has left the queue; one run fails (exit code 2).
    r = vmsim(binary, ["sweep", "failing.yaml", "--out", "s-nowait", "--no-wait"] + slurm_opts, env, 0)
    m = re.search(r"submitted 2 runs as slurm job (\d+)", r.stdout)
    expect(m and "vmsim sweep collect s-nowait" in r.stdout, f"--no-wait: {r.stdout}")
    expect(not os.path.exists("s-nowait/results.csv"), "--no-wait wrote tables")
    job = m.group(1)
    deadline = time.monotonic() + WAIT
    while run(["squeue", "-h", "-j", job, "-o", "%i"], env=env, check=False).stdout.strip():
        if time.monotonic() > deadline:
            fail(f"slurm job {job} still queued after {WAIT} s:\n{daemon_log(root, 'slurmd')}")
        time.sleep(0.3)
    r = vmsim(binary, ["sweep", "collect", "s-nowait"], env, 1)
    expect("2 runs: 1 ok, 1 failed, 0 missing" in r.stdout, f"collect: {r.stdout}")
    expect("system.core.mmu.tlb.stlb[0].entries: bad value '0'" in r.stdout, f"collect: {r.stdout}")
    vmsim(binary, ["sweep", "failing.yaml", "--out", "l-nowait"], env, 1)
    same_tables("s-nowait", "l-nowait", 2)
    failed = [x for x in tables("s-nowait")[1]["runs"] if x["status"] == "failed"]
    expect(len(failed) == 1 and failed[0]["exit_code"] == 2, f"the failing run: {failed}")
    log(f"--no-wait job {job} + collect: tables identical to the local sweep's, the failing run recorded")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("test_slurm_backend: needs root (slurmd must start as root, and apt-get may need to install "
              "slurm-wlm and munge)", file=sys.stderr)
        return 1
    # One private folder per vmsim build, so two checkouts on one host do not share daemons or files.
    root = "/tmp/vmsim-slurm-test-" + hashlib.sha1(binary.encode()).hexdigest()[:10]
    try:
        ensure_installed()
        stop_leftovers(root)
        shutil.rmtree(root, ignore_errors=True)
        env = stand_up_slurm(root)
        check_sweeps(binary, root, env)
    except TestFailure as e:
        print(f"test_slurm_backend: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        stop_daemons()
    shutil.rmtree(root, ignore_errors=True)
    log("passed")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest's timeout: still stop the daemons
    sys.exit(main())
