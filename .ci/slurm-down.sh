#!/usr/bin/env bash
# Stops the single-node cluster of .ci/slurm-up.sh: cancels its jobs, then ends slurmd,
# slurmctld and munged by the PIDs in their pid files (SLURM_DOWN_KEEP_MUNGE=1 keeps
# munged). Safe to run when nothing is running.
set -uo pipefail
RUN_DIR=/run/slurm
say() { echo "[slurm-down] $*"; }

stop() {  # stop NAME PIDFILE: TERM, wait up to 15 s, then KILL
  local name=$1 pidfile=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidfile"; return 0; fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "$name did not stop: KILL"; kill -KILL "$pid"; fi
  rm -f "$pidfile"
}

if [ -s "$RUN_DIR/slurmctld.pid" ] && kill -0 "$(cat "$RUN_DIR/slurmctld.pid")" 2>/dev/null; then
  jobs=$(squeue -h -t PENDING,RUNNING,SUSPENDED,CONFIGURING -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs still queued or running: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 1 20); do
      [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break; sleep 0.5
    done
  fi
fi
stop slurmd "$RUN_DIR/slurmd.pid"
stop slurmctld "$RUN_DIR/slurmctld.pid"
[ "${SLURM_DOWN_KEEP_MUNGE:-0}" = 1 ] || stop munged /run/munge/munged.pid
say "down"
