#!/usr/bin/env bash
# The README's recovery recipes, on a finished CI-sized run
# (run in a copy: it changes results). Usage: .ci/check_recovery.sh RUN_DIR
#   1. a deleted shard: the plan names it; `--forcerun <shard>` rebuilds it bit-identically
#   2. a deleted shard table (.parquet): named, planned by all, rebuilt as a target
#   3. retrain one model: rm -r its folder, ask for best.pt + cell: retrained, identical bytes
#   4. a damaged best.pt: predict fails naming the file and the command; the command works
#   5. re-evaluate a cell: --forcerun predict_shard -- cell
# The kill -9 of Snakemake and its training mid-run (--unlock, then the plain rerun resumes to
# the uninterrupted run's weights) and the stale model (new noise regenerates the shards; the
# finished training is not resumed, the log says why) are tests of `make test`, which CI runs
# (tests/test_workflow_train.py: test_sigkilled_training_job_resumes_to_the_same_weights,
# test_changed_data_under_a_finished_model_retrains_it); they were also run here on the
# CI-sized run until the CI time had to come down (158 s of the 248 s here).
set -euo pipefail
cd "$1"
B=$PWD/.venv/bin
SM=("$B/snakemake" --cores 2 --configfile .ci/ci.yaml --replace-workflow-config)
cell=results/metrics/simart/TEM/unet.parquet
model=results/models/simart/TEM/unet
shard=results/simart/shards/SEM/test/0000
fail() { echo "RECOVERY CHECK FAILED: $*"; exit 1; }
uptodate() { "${SM[@]}" -n 2>&1 | grep -q "Nothing to be done" || fail "$1: not up to date"; }

echo "-- 1-2. a deleted shard and a deleted shard table: named by the plan, planned by all,"
echo "        rebuilt bit-identically by the commands named"
other=results/simart/shards/TEM/test/0000
sha256sum "$shard.h5" "$shard.parquet" "$other.h5" "$other.parquet" > /tmp/simart_rec_sha.txt
rm "$shard.h5" "$other.parquet"
"${SM[@]}" -n --quiet rules > /tmp/simart_rec1.txt 2>&1
grep -q "$shard.h5  (but" /tmp/simart_rec1.txt || { cat /tmp/simart_rec1.txt; fail "1: not named"; }
grep -q "$other.parquet  (but $other.h5 exists)" /tmp/simart_rec1.txt || {
  cat /tmp/simart_rec1.txt; fail "2: not named"; }
grep -qE "^simulate_shard +2$" /tmp/simart_rec1.txt || fail "1-2: not planned by all"
"${SM[@]}" --quiet --forcerun "$shard.h5" -- "$shard.h5" "$other.parquet" \
  > /tmp/simart_rec1b.txt 2>&1 || { tail -30 /tmp/simart_rec1b.txt; fail "1-2: rebuild"; }
sha256sum -c --quiet /tmp/simart_rec_sha.txt || fail "1-2: rebuilt shard differs"
uptodate "after 1-2 (rebuilt bit-identically: nothing downstream reruns)"

echo "-- 3. retrain one model from scratch and re-evaluate its cell"
sha_best=$(sha256sum < "$model/best.pt")
rm -r "$model"
"${SM[@]}" "$model/best.pt" "$cell" --quiet > /tmp/simart_rec3.txt 2>&1 || {
  tail -30 /tmp/simart_rec3.txt; fail "3"; }
grep -q "resumed from" results/logs/train/simart_TEM_unet.log && fail "3: resumed, not retrained"
[ "$(sha256sum < "$model/best.pt")" = "$sha_best" ] || fail "3: retrained weights differ"
[ "$cell" -nt "$model/best.pt" ] || fail "3: cell not rebuilt after the training"

echo "-- 4. damaged best.pt: refused naming the file and the command; the command works"
head -c 1000 "$model/best.pt" > /tmp/simart_best_cut.pt && cp /tmp/simart_best_cut.pt "$model/best.pt"
if "${SM[@]}" "$cell" > /tmp/simart_rec4.txt 2>&1; then fail "4: damaged best.pt accepted"; fi
grep -q "checkpoint $model/best.pt is unreadable" /tmp/simart_rec4.txt || {
  tail -40 /tmp/simart_rec4.txt; fail "4: message"; }
cmd="snakemake --cores all --forcerun $model/best.pt -- $model/best.pt"
grep -qF "$cmd" /tmp/simart_rec4.txt || fail "4: command"
"${SM[@]}" --quiet --forcerun "$model/best.pt" -- "$model/best.pt" > /tmp/simart_rec4b.txt 2>&1 || {
  tail -30 /tmp/simart_rec4b.txt; fail "4: the command"; }
[ "$(sha256sum < "$model/best.pt")" = "$sha_best" ] || fail "4: republished weights differ"

echo "-- 5. re-evaluate a cell with its trained model"
before=$(stat -c %y "$cell")
"${SM[@]}" --forcerun predict_shard --quiet -- "$cell" > /tmp/simart_rec5.txt 2>&1 || {
  tail -30 /tmp/simart_rec5.txt; fail "5"; }
[ "$(stat -c %y "$cell")" != "$before" ] || fail "5: cell not rebuilt"

echo "recovery recipes: OK"
