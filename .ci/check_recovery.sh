#!/usr/bin/env bash
# The README's recovery recipes and the stale-model sequence, on a finished CI-sized run
# (run in a copy: it changes results). Usage: .ci/check_recovery.sh RUN_DIR
#   1. a deleted shard: the plan names it; `--forcerun <shard>` rebuilds it bit-identically
#   2. a deleted shard table (.parquet): named, planned by all, rebuilt as a target
#   3. retrain one model: rm -r its folder, ask for best.pt + cell: retrained, identical bytes
#   4. a damaged best.pt: predict fails naming the file and the command; the command works
#   5. re-evaluate a cell: --forcerun predict_shard -- cell
#   6. kill -9 of Snakemake mid-run: --unlock, then the plain rerun works
#   7. stale model: new noise in the config regenerates the shards; the training does not
#      resume its finished run (log says why) and publishes other weights
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

echo "-- 6. kill -9 of Snakemake while it runs jobs; --unlock; the plain rerun works"
targets=("$model/best.pt" results/models/simart/SEM/unet/best.pt)
"${SM[@]}" --forcerun train_model -- "${targets[@]}" > /tmp/simart_rec6.txt 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  [ -n "$(ls .snakemake/incomplete 2>/dev/null)" ] && break; sleep 0.5
done
sleep 2
kill -9 "$pid" || true
wait "$pid" 2>/dev/null || true
sleep 8   # the orphaned job finishes and writes outputs that stay marked incomplete
"${SM[@]}" --unlock > /dev/null 2>&1
# what the kill left: outputs marked incomplete (Snakemake alone would stop on them)
if "${SM[@]}" -n --workflow-profile none -- "${targets[@]}" > /tmp/simart_rec6a.txt 2>&1 \
  || ! grep -q "IncompleteFilesException" /tmp/simart_rec6a.txt; then
  tail -20 /tmp/simart_rec6a.txt; fail "6: the kill left no incomplete outputs (nothing tested)"; fi
"${SM[@]}" --quiet -- "${targets[@]}" > /tmp/simart_rec6b.txt 2>&1 || {
  tail -30 /tmp/simart_rec6b.txt; fail "6: the plain rerun"; }
if ls -a "$model" "$model/work" | grep -q "\.tmp"; then fail "6: temporary files left"; fi
[ "$(sha256sum < "$model/best.pt")" = "$sha_best" ] || fail "6: weights differ"

echo "-- 7. stale model: other noise regenerates the shards; the training starts over"
printf 'simart:\n  noise:\n    gaussian_sigma: [0.15, 0.2]\n' > /tmp/simart_noise.yaml
"$B/snakemake" --cores 2 --configfile .ci/ci.yaml /tmp/simart_noise.yaml \
  --replace-workflow-config --quiet -- "$cell" > /tmp/simart_rec7.txt 2>&1 || { tail -30 /tmp/simart_rec7.txt; fail "7"; }
grep -q "not resuming: .*data.shards" results/logs/train/simart_TEM_unet.log || {
  tail -20 results/logs/train/simart_TEM_unet.log; fail "7: no 'not resuming' in the log"; }
grep -q "already complete" results/logs/train/simart_TEM_unet.log && fail "7: resumed"
[ "$(sha256sum < "$model/best.pt")" != "$sha_best" ] || fail "7: old weights republished"
echo "recovery recipes and the stale-model sequence: OK"
