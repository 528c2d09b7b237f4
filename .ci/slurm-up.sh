#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1 for CI and for trying profiles/slurm on one
# machine (Debian/Ubuntu, as root, no systemd needed). Idempotent: installs what is
# missing, (re)writes the config, starts only the daemons that are not running, and
# waits until the node is idle. Stop it with .ci/slurm-down.sh.
#
# The cluster matches the shipped profiles/slurm/config.yaml: partitions `cpu` (default)
# and `gpu` on the one node, and fake GPUs (gres gpu:a100:2 whose File= are links to
# /dev/null: Slurm schedules them, jobs get CUDA_VISIBLE_DEVICES, there is no
# device; two, so the 2 cores of a CI machine can run two GPU jobs at once). Change
# with the environment: SLURM_UP_PARTITIONS="cpu gpu", SLURM_UP_GPU_TYPE=a100,
# SLURM_UP_GPUS=2. No accounting storage: use `slurm-status-command: squeue`, which the
# executor plugin honours only when MinJobAge >= 3 x slurm-init-seconds-before-status-
# checks; MinJobAge here is SLURM_UP_MIN_JOB_AGE (default 3600 s). An /etc/slurm/slurm.conf
# this script did not write is left alone (SLURM_UP_FORCE=1 replaces it).
set -euo pipefail

PARTITIONS=${SLURM_UP_PARTITIONS:-cpu gpu}
GPU_TYPE=${SLURM_UP_GPU_TYPE:-a100}
GPUS=${SLURM_UP_GPUS:-2}
MIN_JOB_AGE=${SLURM_UP_MIN_JOB_AGE:-3600}
CONF_DIR=/etc/slurm
RUN_DIR=/run/slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm

say() { echo "[slurm-up] $*"; }
die() { echo "[slurm-up] ERROR: $*" >&2; exit 1; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts daemons)"

# ---- 1. packages (Debian 12: Slurm 22.05) -------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(slurmctld slurmd slurm-client munge)
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  }
fi
say "$(slurmctld -V)"

# ---- 2. munge ---------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
if ! alive /run/munge/munged.pid; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
fi

# ---- 3. configuration ---------------------------------------------------------------
node=$(hostname -s)
# CPUs/sockets/cores/memory exactly as slurmd sees them (else the node goes INVAL)
hw=$(slurmd -C | head -1 | sed -e "s/^NodeName=[^ ]* //")
gres="gpu:${GPU_TYPE}:${GPUS}"
install -d -m 0755 "$CONF_DIR" "$RUN_DIR"
install -d -o slurm -g slurm -m 0755 "$LOG_DIR" "$STATE_DIR" "$STATE_DIR/slurmctld" \
  "$STATE_DIR/slurmd"

new_conf=$(mktemp)
cat > "$new_conf" <<EOF
# Written by .ci/slurm-up.sh: single-node test cluster on loopback.
ClusterName=simart
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=${STATE_DIR}/slurmctld
SlurmdSpoolDir=${STATE_DIR}/slurmd
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
# no cgroups/systemd in containers: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MailProg=/bin/true
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
# finished jobs stay visible to squeue this long (the status command without sacct)
MinJobAge=${MIN_JOB_AGE}
# no accounting storage; a text record of every finished job instead
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${LOG_DIR}/jobcomp.log
SchedulerParameters=batch_sched_delay=0
GresTypes=gpu
NodeName=${node} NodeAddr=127.0.0.1 ${hw} Gres=${gres} State=UNKNOWN
EOF
default=YES
for p in $PARTITIONS; do
  echo "PartitionName=$p Nodes=${node} Default=$default MaxTime=INFINITE State=UP" >> "$new_conf"
  default=NO
done
# Fake GPU devices: links to /dev/null (Slurm needs one File per GPU; a gres without
# File= leaves the node INVAL)
for i in $(seq 0 $((GPUS - 1))); do ln -sfn /dev/null "$RUN_DIR/fake-gpu$i"; done
new_gres=$(mktemp)
echo "NodeName=${node} Name=gpu Type=${GPU_TYPE} File=${RUN_DIR}/fake-gpu[0-$((GPUS - 1))]" \
  > "$new_gres"

if [ -s "$CONF_DIR/slurm.conf" ] && ! grep -q "^# Written by .ci/slurm-up.sh" "$CONF_DIR/slurm.conf" \
   && [ "${SLURM_UP_FORCE:-0}" != 1 ]; then
  die "$CONF_DIR/slurm.conf exists and was not written by this script (a real cluster?);" \
      "SLURM_UP_FORCE=1 replaces it"
fi
changed=0
cmp -s "$new_conf" "$CONF_DIR/slurm.conf" || changed=1
cmp -s "$new_gres" "$CONF_DIR/gres.conf" || changed=1
if [ "$changed" = 1 ]; then
  if alive "$RUN_DIR/slurmctld.pid" || alive "$RUN_DIR/slurmd.pid"; then
    say "configuration changed: restarting the Slurm daemons"
    SLURM_DOWN_KEEP_MUNGE=1 "$(dirname "$0")/slurm-down.sh"
  fi
  install -m 0644 "$new_conf" "$CONF_DIR/slurm.conf"
  install -m 0644 "$new_gres" "$CONF_DIR/gres.conf"
fi
rm -f "$new_conf" "$new_gres"

# ---- 4. daemons (by hand: no systemd) -----------------------------------------------
if ! alive "$RUN_DIR/slurmctld.pid"; then
  say "starting slurmctld"
  slurmctld
  sleep 1
  alive "$RUN_DIR/slurmctld.pid" || { tail -n 5 "$LOG_DIR/slurmctld.log" >&2; die "slurmctld died"; }
fi
if ! alive "$RUN_DIR/slurmd.pid"; then
  say "starting slurmd -N $node"
  slurmd -N "$node"
  sleep 1
  alive "$RUN_DIR/slurmd.pid" || { tail -n 5 "$LOG_DIR/slurmd.log" >&2; die "slurmd died"; }
fi

# ---- 5. wait until the node takes jobs ----------------------------------------------
state=""
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null | head -1 || true)
  alive "$RUN_DIR/slurmd.pid" || break
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*|drained*)
      scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 1
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
     die "node $node is '${state:-not answering}' after 60 s" ;;
esac
say "up: node $node is $state; partitions: $PARTITIONS; gres $gres;" \
    "MinJobAge=$(scontrol show config | awk '/^MinJobAge/ {print $3}') s"
sinfo -o "%10P %6a %6D %8T %4c %8m %G" | sed 's/^/[slurm-up]   /'
