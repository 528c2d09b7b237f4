#!/usr/bin/env bash
# Checks on a finished embedded run: outputs exist, a rerun has nothing to do, and a
# deleted shard is rebuilt (alone with its dependents) bit-identically.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin
for f in results/tables/simart_metrics.csv results/tables/simart_metrics.md \
         results/figures/fig1_artifacts.png results/figures/fig1_artifacts.pdf \
         results/metrics/simart/TEM/wiener.parquet; do
  test -s "$f" || { echo "missing output: $f"; exit 1; }
done
cat results/tables/simart_metrics.md

echo "-- rerun: nothing to be done"
$B/snakemake --cores 2 -n 2>&1 | tee /tmp/simart_rerun.txt | tail -3
grep -q "Nothing to be done" /tmp/simart_rerun.txt

echo "-- delete one shard, rebuild: bit-identical"
shard=results/simart/shards/SEM/test/0000
sha256sum "$shard.h5" "$shard.parquet" > /tmp/simart_sha.txt
rm "$shard.h5"
$B/snakemake --cores 2 -n --quiet rules 2>&1 | tee /tmp/simart_plan.txt
# exactly one shard is simulated again; everything else upstream is up to date
grep -E "^simulate_shard +1$" /tmp/simart_plan.txt
if grep -E "^source_catalog" /tmp/simart_plan.txt; then echo "catalog rebuilt"; exit 1; fi
$B/snakemake --cores 2 --quiet
sha256sum -c /tmp/simart_sha.txt

echo "-- Slurm profile plans the paper-scale DAG"
start=$(date +%s.%N)
$B/snakemake -n --profile profiles/slurm all --quiet rules > /tmp/simart_paper.txt 2>&1 || {
  cat /tmp/simart_paper.txt; exit 1; }
end=$(date +%s.%N)
grep -E "simulate_shard|total" /tmp/simart_paper.txt
python3 -c "import sys; d=$end-$start; print(f'paper-scale dry run: {d:.1f} s'); sys.exit(d > 30)"
