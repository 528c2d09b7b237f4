#!/usr/bin/env bash
# The report of a finished run, checked in headless Chromium (.ci/check_report.py):
# `snakemake --report` builds; every figure of results/figures/ is ONE entry (PNG shown,
# its PDF behind the entry's `format` toggle), every Markdown table of results/tables/ a
# page with table rows, nothing download-only, each entry with its caption, the workflow
# description; every entry is opened as a click does and must render. Installs chromium
# with apt when absent (needs root, as .ci/slurm-up.sh for Slurm).
#   .ci/check_report.sh RUN_DIR [the run's snakemake config flags...]
#   .ci/check_report.sh . --configfile .ci/ci.yaml --replace-workflow-config
# Writes the report and the screenshots (landing page, Fig. 1, the metric table) under
# $REPORT_CHECK_OUT (default /tmp/simart_report_check) and prints their paths.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="$ROOT/.venv/bin"
RUN="$(cd "${1:?usage: .ci/check_report.sh RUN_DIR [snakemake config flags...]}" && pwd)"
shift
OUT="${REPORT_CHECK_OUT:-/tmp/simart_report_check}"
start=$(date +%s)

if ! command -v chromium >/dev/null; then
  t0=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(chromium fonts-dejavu-core)
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  }
  echo "chromium installed with apt in $(( $(date +%s) - t0 )) s: $(chromium --version 2>/dev/null)"
fi

rm -rf "$OUT" && mkdir -p "$OUT"
t0=$(date +%s)
(cd "$RUN" && "$B/snakemake" -s "$ROOT/Snakefile" --directory "$RUN" \
   --report "$OUT/report.html" "$@") > "$OUT/report_build.txt" 2>&1 || {
  tail -30 "$OUT/report_build.txt"; echo "snakemake --report failed"; exit 1; }
echo "snakemake --report: $OUT/report.html ($(du -h "$OUT/report.html" | cut -f1)," \
     "$(( $(date +%s) - t0 )) s)"
"$B/python" "$ROOT/.ci/check_report.py" "$OUT/report.html" "$RUN" "$OUT"
echo "report check: $(( $(date +%s) - start )) s"
