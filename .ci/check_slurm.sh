#!/usr/bin/env bash
# CI stage: the users' Slurm profile against a real single-node Slurm cluster.
#   1. .ci/slurm-up.sh (installs and starts slurmctld/slurmd/munge on 127.0.0.1, fake GPUs)
#   2. in a copy of the checkout: snakemake --profile profiles/slurm --profile profiles/slurm-ci
#      all benchmark_summary  (CI-sized config: its rows are CPU-only, so they run as
#      predict_shard_cpu on the CPU partition without a GPU; simulate_shard goes out as a
#      job array), while a watcher `scancel`s one running predict_shard_cpu job:
#      Snakemake must retry it (with doubled memory) and the run must complete
#   3. evidence: Slurm job ids, partitions, GPU requests and final states (squeue keeps
#      finished jobs for MinJobAge), the benchmark summary; a rerun has nothing to do
#   4. training through the profile (tests/data/slurm_ci_train.yaml, same shards): one UNet
#      data-parallel in 2 processes (train.gpus 2: the job asks for the 2 fake GPUs; torch
#      has no CUDA here, so 2 CPU processes with gloo); once it trains, the watcher sends
#      it the profile's stop signal (scancel --signal=TERM: the path of --signal=TERM@600):
#      the job writes last.pt and fails (exit 75), Snakemake's retry resumes from it and
#      completes; evidence: both job ids and states, the step stopped at and resumed from
#   5. .ci/slurm-down.sh (also on failure)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SNAKEMAKE=${SNAKEMAKE:-$ROOT/.venv/bin/snakemake}
WD=${SLURM_CI_WORKDIR:-/tmp/simart-slurm-ci}
CANCEL_RULE=predict_shard_cpu
PROFILES=(--profile profiles/slurm --profile profiles/slurm-ci)
t0=$(date +%s)
say() { echo "[slurm-ci] $*"; }
fail() { echo "[slurm-ci] FAILED: $*" >&2; exit 1; }
watcher=""

cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  "$ROOT/.ci/slurm-down.sh"
}
trap cleanup EXIT

"$ROOT/.ci/slurm-up.sh"

# A copy of the checkout (no results, venv or git): a user's clone running the profile
rm -rf "$WD" && mkdir -p "$WD"
tar -C "$ROOT" --exclude=./results --exclude=./.snakemake --exclude=./.venv --exclude=./.git \
  -cf - . | tar -C "$WD" -xf -
cd "$WD"

# Watcher: cancel the first $CANCEL_RULE job seen running for >= 2 s (mid-run), through
# scancel; try the next one if a job finished before the cancel took effect.
cancel_one() {
  local id state run=""
  set +e +o pipefail  # a poll that finds nothing is not an error
  for _ in $(seq 1 1200); do
    sleep 0.5
    # only this run's jobs (Slurm job name = the plugin's run id)
    [ -n "$run" ] || run=$(grep -oE "SLURM run ID: [^ ]+" snakemake.log 2>/dev/null | awk '{print $4}')
    [ -n "$run" ] || continue
    id=$(squeue -h -t RUNNING --name "$run" -o "%i %M %k" 2>/dev/null \
         | awk -v r="rule_${CANCEL_RULE}" 'index($3, r) == 1 && $2 !~ /^0:0[01]$/ {print $1; exit}')
    if [ -n "$id" ]; then
      scancel "$id" 2>/dev/null || true
      sleep 1
      state=$(squeue -h -t all -j "$id" -o %T 2>/dev/null | head -1)
      if [ "$state" = CANCELLED ]; then echo "$id"; return 0; fi
    fi
  done
  return 1
}
cancel_one > cancelled.txt &
watcher=$!

say "snakemake ${PROFILES[*]} all benchmark_summary  (in $WD)"
t1=$(date +%s)
rc=0
timeout -k 20 900 "$SNAKEMAKE" "${PROFILES[@]}" all benchmark_summary > snakemake.log 2>&1 || rc=$?
t2=$(date +%s)
wait "$watcher" 2>/dev/null || true
watcher=""
# readable excerpt: submissions, failures and retries, the end
grep -E "SLURM run ID|has been submitted with SLURM jobid|Submitted array job|failed, SLURM status|Trying to restart|steps \(100%\) done|Complete log" \
  snakemake.log | sed -e "s#$WD/##g" -e 's/^/  | /' || true
if [ "$rc" != 0 ]; then
  tail -n 60 snakemake.log | sed 's/^/  ! /'
  squeue -t all -o "%.10i %.9P %.11T %.8M %k" | sed 's/^/  ! /'
  fail "snakemake exited with $rc after $((t2 - t1)) s"
fi
say "workflow through Slurm: $((t2 - t1)) s"

# ---- evidence ----------------------------------------------------------------------
run_id=$(grep -oE "SLURM run ID: [^ ]+" snakemake.log | head -1 | awk '{print $4}')
[ -n "$run_id" ] || fail "no SLURM run ID in the log"
say "Slurm records of run $run_id (squeue --states=all; sacct needs accounting storage):"
squeue -h -t all --name "$run_id" \
  -O "JobArrayID:12,JobID:7,Partition:6,State:11,MinMemory:7,NumCPUs:5,tres-per-job:17,TimeUsed:8,Comment:60" \
  | sort -k2,2n > jobs.txt
{ printf '%-12s%-7s%-6s%-11s%-7s%-5s%-17s%-8s%s\n' ARRAY_TASK JOBID PART STATE MEM CPUS \
    GPU_REQUEST TIME "COMMENT (rule, first wildcards)"; cat jobs.txt; } | sed 's/^/  /'

n_jobs=$(wc -l < jobs.txt)
n_done=$(awk '$4 == "COMPLETED"' jobs.txt | wc -l)
n_cancel=$(awk '$4 == "CANCELLED"' jobs.txt | wc -l)
n_gpu=$(awk '$3 == "gpu" || $7 ~ /gpu/' jobs.txt | wc -l)
n_cpu_pred=$(awk '$3 == "cpu" && $7 !~ /gpu/ && $4 == "COMPLETED" && index($9, "rule_predict_shard_cpu") == 1' jobs.txt | wc -l)
n_array=$(awk '$1 ~ /_[0-9]+$/' jobs.txt | wc -l)
n_submitted=$(grep -cE "has been submitted with SLURM jobid|Submitted array job" snakemake.log)
say "$n_jobs Slurm jobs ($n_array array tasks) from $n_submitted submissions:" \
    "$n_done COMPLETED, $n_cancel CANCELLED; $n_cpu_pred CPU-only predictions completed on" \
    "partition cpu without a GPU; $n_gpu jobs asked for a GPU"
other=$(awk '$4 != "COMPLETED" && $4 != "CANCELLED"' jobs.txt)
[ -z "$other" ] || fail "jobs neither COMPLETED nor CANCELLED: $other"
[ "$n_cpu_pred" -ge 1 ] || fail "no CPU-only prediction ran on the CPU partition"
[ "$n_gpu" = 0 ] || fail "a CPU-only row held a GPU: $(awk '$3 == "gpu" || $7 ~ /gpu/' jobs.txt)"
[ "$n_array" -ge 2 ] || fail "no job array was used"
[ "$n_jobs" -ge 10 ] || fail "too few Slurm jobs ($n_jobs)"

# scancel: the cancelled job was retried and the run completed
cancelled=$(cat cancelled.txt 2>/dev/null || true)
[ -n "$cancelled" ] || fail "the watcher cancelled no $CANCEL_RULE job"
grep -q "SLURM-job '$cancelled' failed, SLURM status is: 'CANCELLED'" snakemake.log \
  || fail "Snakemake did not see job $cancelled as CANCELLED"
wildcards=$(awk -v j="$cancelled" '$1 == j {print $9}' jobs.txt | sed "s/^rule_${CANCEL_RULE}_wildcards_//")
retry_line=$(grep -E "has been submitted with SLURM jobid" snakemake.log \
  | grep "rule_${CANCEL_RULE}/${wildcards}/" | grep -v "jobid $cancelled " | tail -1)
say "scancel $cancelled (RUNNING, rule $CANCEL_RULE) -> Snakemake saw CANCELLED and" \
    "resubmitted: ${retry_line%% (log:*}"
retry_id=$(echo "$retry_line" | grep -oE "SLURM jobid [0-9]+" | awk '{print $3}')
mem1=$(awk -v j="$cancelled" '$1 == j {print $5}' jobs.txt)
mem2=$(awk -v j="$retry_id" '$2 == j {print $5}' jobs.txt)
state2=$(awk -v j="$retry_id" '$2 == j {print $4}' jobs.txt)
say "retry $retry_id: $state2, memory $mem1 -> $mem2 (escalated on attempt 2)"
[ "$state2" = COMPLETED ] || fail "retry job $retry_id is '$state2'"
[ "$mem1" != "$mem2" ] || fail "retry did not escalate memory ($mem1)"

# benchmark records of every job, summarised per rule
test -s results/benchmarks/summary.md || fail "no benchmark summary"
sed -n '5,$p' results/benchmarks/summary.md | sed 's/^/  /'

# a rerun through the profile has nothing to do
"$SNAKEMAKE" "${PROFILES[@]}" -n all benchmark_summary > rerun.txt 2>&1 \
  || { cat rerun.txt; fail "dry rerun failed"; }
grep -q "Nothing to be done" rerun.txt || { tail -20 rerun.txt; fail "rerun has work to do"; }
say "rerun: nothing to be done"

# ---- training: 2 processes in one job, stopped by a signal, resumed by the retry -------
TRAIN_TARGET=results/models/simart/SEM/unet/best.pt
TRAIN_LOG=results/logs/train/simart_SEM_unet.log
# the profile's train_model placement (partition, GPU model, --signal) with the memory cut
# to this node's size: --set-resources on the command line replaces the profile's list
mapfile -t train_res < <("$ROOT/.venv/bin/python" - <<'PY'
import yaml
res = yaml.safe_load(open("profiles/slurm/config.yaml"))["set-resources"]["train_model"]
res["mem_mb"] = 3000
for k, v in res.items():
    print(f"train_model:{k}={v}")
PY
)
signal_training() {
  local id run=""
  set +e +o pipefail
  for _ in $(seq 1 1200); do
    sleep 0.5
    [ -n "$run" ] || run=$(grep -oE "SLURM run ID: [^ ]+" train.log 2>/dev/null | awk '{print $4}')
    [ -n "$run" ] || continue
    id=$(squeue -h -t RUNNING --name "$run" -o "%i %k" 2>/dev/null \
         | awk 'index($2, "rule_train_model") == 1 {print $1; exit}')
    # training under way (rank 0 logged its start), a few seconds into the steps
    if [ -n "$id" ] && grep -q "training unet on simart" "$TRAIN_LOG" 2>/dev/null; then
      sleep 3
      scancel --signal=TERM "$id" && { echo "$id"; return 0; }
    fi
  done
  return 1
}
signal_training > signalled.txt &
watcher=$!
say "snakemake ${PROFILES[*]} --configfile tests/data/slurm_ci_train.yaml $TRAIN_TARGET"
t1=$(date +%s)
rc=0
timeout -k 20 600 "$SNAKEMAKE" "${PROFILES[@]}" --configfile tests/data/slurm_ci_train.yaml \
  --set-resources "${train_res[@]}" -- "$TRAIN_TARGET" > train.log 2>&1 || rc=$?
t2=$(date +%s)
wait "$watcher" 2>/dev/null || true
watcher=""
grep -E "SLURM run ID|has been submitted with SLURM jobid|failed, SLURM status|Trying to restart|steps \(100%\) done" \
  train.log | sed -e "s#$WD/##g" -e 's/^/  | /' || true
if [ "$rc" != 0 ]; then
  tail -n 60 train.log | sed 's/^/  ! /'
  fail "training through Slurm exited with $rc after $((t2 - t1)) s"
fi
say "training through Slurm: $((t2 - t1)) s"
stopped=$(cat signalled.txt 2>/dev/null || true)
[ -n "$stopped" ] || fail "the watcher signalled no train_model job"
train_run=$(grep -oE "SLURM run ID: [^ ]+" train.log | head -1 | awk '{print $4}')
squeue -h -t all --name "$train_run" -O "JobID:7,Partition:6,State:11,MinMemory:7,NumCPUs:5,tres-per-job:17,TimeUsed:8,Comment:50" \
  | sort -n > train_jobs.txt
sed 's/^/  /' train_jobs.txt
state1=$(awk -v j="$stopped" '$1 == j {print $3}' train_jobs.txt)
retry_id=$(grep -oE "has been submitted with SLURM jobid [0-9]+" train.log | awk '{print $NF}' \
  | grep -vx "$stopped" | tail -1)
state2=$(awk -v j="$retry_id" '$1 == j {print $3}' train_jobs.txt)
slurm_log() { grep -oE "SLURM jobid $1 \(log: [^)]+" train.log | sed 's/.*(log: //'; }
log1=$(slurm_log "$stopped"); log2=$(slurm_log "$retry_id")
stop_line=$(grep -hE "stopping on SIGTERM after step [0-9]+" "$log1" | head -1)
resume_line=$(grep -hE "resumed from .*last.pt at step [0-9]+" "$log2" | head -1)
step1=$(echo "$stop_line" | grep -oE "after step [0-9]+" | awk '{print $3}')
step2=$(echo "$resume_line" | grep -oE "at step [0-9]+" | awk '{print $3}')
say "scancel --signal=TERM $stopped (RUNNING train_model, 2 processes) -> $state1:" \
    "${stop_line#*: }"
say "retry $retry_id: $state2, ${resume_line#*: }"
say "job $stopped requested: $(scontrol show job "$stopped" 2>/dev/null \
    | grep -oE "(TresPerJob|NumCPUs|Partition)=[^ ]+" | tr '\n' ' ')"
[ "$state1" = FAILED ] || fail "signalled job $stopped is '$state1', not FAILED (exit 75)"
[ "$state2" = COMPLETED ] || fail "retry job $retry_id is '$state2'"
[ -n "$step1" ] && [ "$step1" = "$step2" ] \
  || fail "stopped at step '$step1' but resumed at step '$step2'"
summary=results/models/simart/SEM/unet/summary.json
"$ROOT/.venv/bin/python" - "$summary" <<'PY' || fail "summary.json of the resumed training"
import json, sys
s = json.load(open(sys.argv[1]))
print(f"[slurm-ci] summary.json: steps {s['steps']}, processes {s['processes']}, "
      f"resumes {s['resumes']}, device {s['device']}")
assert s["processes"] == 2 and s["resumes"] == 1 and s["steps"] == s["settings"]["steps"]
PY
say "Slurm stage passed in $(( $(date +%s) - t0 )) s"
