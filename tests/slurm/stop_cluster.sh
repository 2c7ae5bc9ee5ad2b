#!/usr/bin/env bash
# Stops the private cluster tests/slurm/start_cluster.sh started under DIR: cancels its jobs,
# then stops slurmd, slurmctld and munged by their pid files (a pid is signalled only if it still
# names that daemon). Removes nothing: logs, state and configuration stay in DIR for inspection.
# Safe to run twice, or on a half-started cluster.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$(cd "$1" 2>/dev/null && pwd) || exit 0
conf="$dir/etc/slurm.conf"

# daemon_pid NAME [PIDFILE]: the pid in PIDFILE (default run/NAME.pid) if it still names NAME.
daemon_pid() {
  local pid_file="${2:-$dir/run/$1.pid}" pid
  [ -s "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$1" ] || return 1
  echo "$pid"
}

# Jobs first, while slurmctld and slurmd can still end them (their processes would outlive slurmd).
if [ -s "$conf" ] && daemon_pid slurmctld >/dev/null; then
  export SLURM_CONF="$conf"
  scancel --full --quiet --user=root 2>/dev/null || true
  for _ in $(seq 1 40); do
    [ -z "$(squeue -h -t all -o '%i %t' 2>/dev/null | grep -vE ' (CD|CA|F|TO|NF|PR|OOM|BF|DL)$')" ] && break
    sleep 0.25
  done
fi

status=0
# One slurmd per node (run/slurmd-<node>.pid), then the controller and munged.
for pid_file in "$dir"/run/slurmd*.pid "$dir/run/slurmctld.pid" "$dir/run/munged.pid"; do
  daemon=$(basename "$pid_file" .pid)
  daemon=${daemon%%-*}
  pid=$(daemon_pid "$daemon" "$pid_file") || continue
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 1 40); do
    [ -d "/proc/$pid" ] || break
    sleep 0.25
  done
  if [ -d "/proc/$pid" ]; then
    echo "$0: $daemon (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || status=1
  fi
done
exit $status
