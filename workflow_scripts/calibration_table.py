"""Rule calibration_table: input vs oracle bound and severity of sampled SIMART test images."""
import time

import torch

from simart import runlog
from simart.evaluation.calibration import calibration_table, write

log = runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(max(1, snakemake.threads))  # noqa: F821
p, out = snakemake.params, snakemake.output  # noqa: F821
t0 = time.perf_counter()
table = calibration_table(p.shards, p.n_max, p.data_range)
summ = write(table, out.csv, out.md, p.context)
log.info("%d images in %.1f s", len(table), time.perf_counter() - t0)
for _, r in summ.iterrows():
    log.info("%s: input PSNR %.2f dB, oracle %.2f dB (gain %.2f dB), targets %s", r["modality"],
             r["input_psnr"], r["oracle_psnr"], r["oracle_gain_db"],
             "met" if r["input_psnr_in_band"] and r["oracle_gain_ok"] else "NOT met")
