#!/usr/bin/env bash
# Checks on a finished run (SNAKE_CONFIG: the --configfile it used, if any): outputs exist,
# a rerun has nothing to do, a changed cell replans only what reads it (deleted shards and
# the other recovery recipes: .ci/check_recovery.sh, on a second run).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin
CONF=()
[ -n "${SNAKE_CONFIG:-}" ] && CONF=(--configfile "$SNAKE_CONFIG" --replace-workflow-config)
for f in results/tables/simart_metrics.csv results/tables/simart_metrics.md \
         results/figures/fig1_artifacts.png results/figures/fig1_artifacts.pdf \
         results/metrics/simart/TEM/wiener.parquet results/tables/simart_calibration.md \
         results/figures/simart_calibration.png; do
  test -s "$f" || { echo "missing output: $f"; exit 1; }
done
cat results/tables/simart_metrics.md results/tables/simart_calibration.md
for f in results/models/simart/TEM/unet/summary.json results/models/lm/all/cond_ddpm/log.csv \
         results/metrics/stem_lattice/L5/n2v.parquet results/metrics/stm_cu111/experimental/pdanet.parquet; do
  test -s "$f" || { echo "missing output: $f"; exit 1; }
done
for f in results/tables/pdanet_tables.md results/tables/condddpm_cond_ddpm.md; do
  test -s "$f" || { echo "missing output: $f"; exit 1; }
  cat "$f"
done
# one output of each family of paper tables/figures (the PCSD paper tables, Figs. 4 and 6, the PINNED
# and conditional-DDPM papers) and the reproduction report; the run above already required every target of `all`
for f in results/reproduction_report.md results/tables/pcsd_table2.md \
         results/figures/fig4_cross_modal.png results/figures/fig6_statistics.png \
         results/figures/pinned_noise_curves.png results/figures/condddpm_uncertainty_maps.png; do
  test -s "$f" || { echo "missing output: $f"; exit 1; }
done
ls results/figures results/tables
# the report (snakemake --report) is built and rendered by .ci/check_report.sh
echo "-- learned models vs the noisy input: mean (median) test PSNR difference per cell, dB"
$B/python - <<'PY'
import pandas as pd
t = pd.read_csv("results/tables/simart_metrics.csv")
classical = ["noisy", "wiener", "richardson_lucy", "bm3d", "tip_erosion"]
learned = sorted(set(t["model"]) - set(classical))
pd.set_option("display.width", 250)
for stat in ("mean", "median"):
    p = t.pivot_table(index=["dataset", "modality"], columns="model", values=f"psnr_{stat}")
    d = p[[m for m in learned if m in p]].sub(p["noisy"], axis=0)
    print(f"{stat}:\n{d.round(2).T.to_string()}")
PY

echo "-- rerun: nothing to be done"
$B/snakemake --cores 2 -n "${CONF[@]}" 2>&1 | tee /tmp/simart_rerun.txt | tail -3
grep -q "Nothing to be done" /tmp/simart_rerun.txt

echo "-- one cell table changed (as a rerun of that cell would): only what reads it is replanned"
cell=results/metrics/simart/TEM/wiener.parquet
cp -p "$cell" /tmp/simart_cell.bak
$B/python -c "import pandas as pd, sys; t = pd.read_parquet(sys.argv[1]); \
t.loc[t.index[0], 'psnr'] += 0.5; t.to_parquet(sys.argv[1])" "$cell"
$B/snakemake --cores 2 -n --quiet rules "${CONF[@]}" > /tmp/simart_cellplan.txt 2>&1 || {
  cp -p /tmp/simart_cell.bak "$cell"; cat /tmp/simart_cellplan.txt; exit 1; }
cp -p /tmp/simart_cell.bak "$cell"
sed -n '/^Job stats/,/^total/p' /tmp/simart_cellplan.txt | head -20
grep -qE "^aggregate_metrics +1$" /tmp/simart_cellplan.txt
# nothing upstream, and no figure or table that does not show TEM's Wiener row
if grep -E "^(train_model|predict_shard|score_shard|metrics_cell|simulate_shard|fig3_|fig4_|pinned_|piddpm_|pdanet_|condddpm_|fig_piddpm_|fig_pdanet_|fig_condddpm_)" \
    /tmp/simart_cellplan.txt; then echo "replanned jobs that do not read the changed cell"; exit 1; fi
$B/snakemake --cores 2 -n "${CONF[@]}" 2>&1 | grep -q "Nothing to be done"

echo "-- Slurm profile plans the paper-scale DAG"
start=$(date +%s.%N)
$B/snakemake -n --profile profiles/slurm all --quiet rules > /tmp/simart_paper.txt 2>&1 || {
  cat /tmp/simart_paper.txt; exit 1; }
end=$(date +%s.%N)
grep -E "simulate_shard|total" /tmp/simart_paper.txt
# ~8 ms per job, most of it Snakemake expanding each job's resources (profile expressions):
# ~25 s for the paper plan's ~2,900 jobs on 2 cores; 45 s means something got slow
python3 -c "import sys; d=$end-$start; print(f'paper-scale dry run: {d:.1f} s'); sys.exit(d > 45)"
