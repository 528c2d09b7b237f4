#!/usr/bin/env bash
# The real-data stage through the rules, on the finished CI-sized run: the real instrument
# files of ../shared/fixtures/real-formats (TIA .ser, DM3, TIFFs of DigitalMicrograph and
# Olympus SIS) and two simulated "experimental" TEM images with a known operator
# (.ci/make_real_config.py). Checks: the restored TIFFs, the table and the figures exist;
# every row that applies has a row per image, restored or missing with a reason;
# `simart restore` on a fixture (U-Net) and on a simulated image (PCSD, a sampler) writes
# the same pixels as the rule.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin
fail() { echo "REAL-DATA CHECK FAILED: $*"; exit 1; }
$B/python .ci/make_real_config.py /tmp/simart_real_in /tmp/simart_real.yaml
SM=("$B/snakemake" --cores 2 --configfile .ci/ci.yaml /tmp/simart_real.yaml
    --replace-workflow-config)
"${SM[@]}" --quiet -- real > /tmp/simart_real.txt 2>&1 || { tail -40 /tmp/simart_real.txt; fail "run"; }
"${SM[@]}" -n -- real 2>&1 | grep -q "Nothing to be done" || fail "rerun is not up to date"
cat results/tables/real_noref.md
for f in results/tables/real_noref.csv results/tables/real_noref_images.parquet \
         results/figures/real_fixtures_tem.png results/figures/real_simulated_tem.pdf; do
  test -s "$f" || fail "missing output: $f"
done
$B/python - <<'PY'
import subprocess
import sys

import numpy as np
import pandas as pd
import tifffile
import yaml

from simart.config import load_yaml, validate_config
from simart.workflow.figures_plan import FigurePlan

raw = load_yaml(".ci/ci.yaml")
raw.update(yaml.safe_load(open("/tmp/simart_real.yaml")))
plan = FigurePlan(validate_config(raw), "results")
rows = pd.read_parquet("results/tables/real_noref_images.parquet")
problems = []
for name in plan.real_sets():
    for model in plan.real_models(name):
        for image in plan.real_images(name):
            r = rows[(rows["set"] == name) & (rows["model"] == model) & (rows["image"] == image)]
            if len(r) != 1:
                problems.append(f"{name}/{model}/{image}: {len(r)} rows")
            elif r["status"].iloc[0] != "ok" and not r["missing_reason"].iloc[0]:
                problems.append(f"{name}/{model}/{image}: missing without a reason")
print(f"real-data rows: {len(rows)} ({int((rows['status'] == 'ok').sum())} restored, "
      f"{int((rows['status'] != 'ok').sum())} missing with a reason); problems: {problems}")
if problems:
    sys.exit(1)

# `simart restore` = the rule, pixel for pixel
tem = plan.real_set("simulated_tem").operator
cases = [("unet", "fixtures_tem", "128x128-TEM_search_1", []),
         ("pcsd", "simulated_tem", "simulated_tem_0",
          [a for k, v in tem.items() for a in ("--param", f"{k}={v}")])]
for model, name, image, extra in cases:
    s = plan.real_set(name)
    weights = plan.entry_weights(s.dataset, model, s.subset)
    out = f"/tmp/simart_restore_{model}"
    cmd = [".venv/bin/simart", "restore", "--model", model, "--weights", weights,
           "--subset", s.subset, "--seed", str(plan.cfg.seed), "--device", plan.cfg.train.device,
           *extra, plan.real_images(name)[image], "--out", out]
    subprocess.run(cmd, check=True)
    a = tifffile.imread(f"{out}/{image}.tif")
    b = tifffile.imread(f"results/real/{name}/{model}/{image}.tif")
    if not np.array_equal(a, b):
        sys.exit(f"simart restore {model} {image}: pixels differ from the rule's "
                 f"(max |diff| {np.abs(a - b).max()})")
    print(f"simart restore --model {model} {image}: the rule's pixels ({a.shape})")
PY
echo "real-data stage: OK"
