"""Rule score_shard: every configured metric for one job's predictions (one row per image)."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import torch

from simart import runlog
from simart.evaluation.cells import score_and_log

runlog.setup(snakemake.log[0])  # noqa: F821
torch.set_num_threads(max(1, snakemake.threads))  # noqa: F821
inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
score_and_log({s: inp[s] for s in p.subsets}, inp.pred, inp.run, snakemake.output[0],  # noqa: F821
          metrics=p.metrics, data_range=p.data_range, lpips_backbone=p.lpips_backbone,
          label=f"{wc.dataset} {wc.model} shard {wc.shard}")
