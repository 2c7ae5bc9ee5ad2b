#!/usr/bin/env bash
# Starts a private Slurm cluster of several nodes on this machine (munged, slurmctld, one slurmd
# per node) for rlvr's tests, with
# everything under the directory given as the only argument: configuration, munge key and socket,
# state, spool, logs and pid files. Must run as root (slurmd starts jobs as their submitter).
#
#   tests/slurm/start_cluster.sh DIR      # prints "SLURM_CONF=DIR/etc/slurm.conf" when ready
#   SLURM_CONF=DIR/etc/slurm.conf sbatch --wrap hostname
#   tests/slurm/stop_cluster.sh DIR
#
# The nodes rlvr1..rlvrN (RLVR_SLURM_NODES, default 3) are this machine at 127.0.0.1, each with
# its real CPU count and memory (slurmd -C), each its own slurmd on its own port (Slurm's
# multiple-slurmd support, which Debian's slurmd 22.05 has), all in two partitions, "checks" (the
# default) and "bench". Ready means every node idle. The daemons listen on free private ports, so
# the cluster neither needs nor disturbs a system-wide Slurm. The configuration is the one seen
# working inside containers: proctrack/linuxproc and task/none need no cgroups, SlurmUser=root.
#
# Ready means `sinfo` shows the node idle, within RLVR_SLURM_START_SECONDS (default 30). If it is
# not, the daemons' own log lines are printed, whatever was started is stopped, and the script
# exits 1. DIR/env.sh holds the export line for a shell.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: must run as root (slurmd runs jobs as their submitting user)" >&2
  exit 1
fi
for tool in munged slurmctld slurmd sinfo; do
  if ! command -v "$tool" >/dev/null; then
    echo "$0: $tool not found; run cmake/setup.sh (Debian packages slurm-wlm and munge)" >&2
    exit 1
  fi
done

mkdir -p "$1"
dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
wait_seconds=${RLVR_SLURM_START_SECONDS:-30}
node=$(hostname -s)

# munged refuses key and socket folders that others can write; its clients need to reach the
# socket. The key itself is 0400.
mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
install -d -m 0755 "$dir/munge"
chmod 0755 "$dir/etc" "$dir/log" "$dir/run"
chmod 0700 "$dir/state" "$dir/spool"

print_logs() {
  for log in "$dir"/log/munged.* "$dir"/log/slurmctld.* "$dir"/log/slurmd*; do
    if [ -s "$log" ]; then
      echo "---- $log (last 40 lines) ----" >&2
      tail -n 40 "$log" >&2
    fi
  done
}

fail() {
  echo "$0: $*" >&2
  print_logs
  "$here/stop_cluster.sh" "$dir" >&2 || true
  exit 1
}

# A TCP port nobody listens on, from a range away from the usual services.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! port_in_use "$port" && ! port_in_use "$((port + 1))"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Already running (a pid file naming a live daemon of that name): refuse rather than guess.
for pid_file in "$dir/run/munged.pid" "$dir/run/slurmctld.pid" "$dir"/run/slurmd*.pid; do
  daemon=$(basename "$pid_file" .pid)
  daemon=${daemon%%-*}
  if [ -s "$pid_file" ]; then
    pid=$(cat "$pid_file")
    if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$daemon" ]; then
      echo "$0: $daemon is already running in $dir (pid $pid); stop it with stop_cluster.sh" >&2
      exit 1
    fi
  fi
done

# --- munge: a fresh key, its own socket ---
if [ ! -s "$dir/munge/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0400 "$dir/munge/munge.key"
munged --force \
  --key-file="$dir/munge/munge.key" \
  --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/run/munged.pid" \
  --seed-file="$dir/munge/munged.seed" \
  --log-file="$dir/log/munged.log" \
  2>"$dir/log/munged.stderr" || fail "munged did not start"

# --- slurm.conf: the machine as it is ---
hardware=$(slurmd -C | head -n 1) || fail "slurmd -C failed"
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$hardware"; }
cpus=$(field CPUs)
memory=$(field RealMemory)
[ -n "$cpus" ] && [ -n "$memory" ] || fail "could not read CPUs and RealMemory from: $hardware"
topology=""
for key in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
  value=$(field "$key")
  [ -n "$value" ] && topology+=" $key=$value"
done

# Several nodes on this one machine: one slurmd each (Slurm's multiple-slurmd support: NodeName
# entries sharing NodeHostname and NodeAddr, each with its own Port), named rlvr1..rlvrN. Each
# node claims the machine's CPUs and memory: they are shared, as on any oversubscribed test bed.
nodes=${RLVR_SLURM_NODES:-3}
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || fail "RLVR_SLURM_NODES must be a positive number, not '$nodes'"
ctld_port=""
for _ in $(seq 1 50); do
  candidate=$(free_port) || fail "no free TCP port"
  busy=0
  for i in $(seq 1 "$nodes"); do port_in_use $((candidate + i)) && busy=1; done
  if [ $busy -eq 0 ]; then ctld_port=$candidate; break; fi
done
[ -n "$ctld_port" ] || fail "no $((nodes + 1)) free consecutive TCP ports"
node_names=""
node_lines=""
for i in $(seq 1 "$nodes"); do
  node_names+="${node_names:+,}rlvr$i"
  node_lines+="NodeName=rlvr$i NodeAddr=127.0.0.1 NodeHostname=$node Port=$((ctld_port + i)) CPUs=$cpus$topology RealMemory=$memory State=UNKNOWN
"
done
conf="$dir/etc/slurm.conf"
cat >"$conf" <<CONF
# Written by tests/slurm/start_cluster.sh: a private single-node cluster under $dir.
ClusterName=rlvrtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
# Finished jobs stay visible to scontrol for 10 minutes (no slurmdbd, so no sacct).
MinJobAge=600
KillWait=5
${node_lines}PartitionName=checks Nodes=$node_names Default=YES MaxTime=INFINITE State=UP
PartitionName=bench Nodes=$node_names MaxTime=INFINITE State=UP
CONF
echo "export SLURM_CONF=$conf" >"$dir/env.sh"
export SLURM_CONF="$conf"

slurmctld -f "$conf" 2>"$dir/log/slurmctld.stderr" || fail "slurmctld did not start"
for i in $(seq 1 "$nodes"); do
  mkdir -p "$dir/spool/slurmd-rlvr$i"
  slurmd -f "$conf" -N "rlvr$i" 2>"$dir/log/slurmd-rlvr$i.stderr" || fail "slurmd of rlvr$i did not start"
done

deadline=$((SECONDS + wait_seconds))
state=""
while ((SECONDS < deadline)); do
  state=$(sinfo -h -N -p checks -o '%t' 2>/dev/null | sort -u | tr '\n' ' ' || true)
  if [ "$state" = "idle " ]; then
    echo "SLURM_CONF=$conf"
    exit 0
  fi
  sleep 0.5
done
fail "node $node not idle within $wait_seconds s (sinfo state: '${state:-no answer}')"
