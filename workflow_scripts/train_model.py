"""Rule train_model: train one learned model on one dataset (resumes from last.pt)."""
from pathlib import Path

from simart import runlog
from simart.config import validate_config
from simart.train.pipeline import train_model

log = runlog.setup(snakemake.log[0])  # noqa: F821
wc, p, inp = snakemake.wildcards, snakemake.params, snakemake.input  # noqa: F821
cfg = validate_config(p.cfg)
unpaired = {f: (list(inp[f]), which) for f, which in p.unpaired.items()}
summary = train_model(wc.model, wc.dataset, p.subsets, list(inp.train), list(inp.val),
                      p.settings, p.hparams, Path(snakemake.output.best).parent,  # noqa: F821
                      seed=cfg.seed, cfg=cfg, unpaired=unpaired)
log.info("%s on %s: %d steps in %.1f s (%.1f images/s), best val PSNR %s at step %s",
         wc.model, wc.dataset, summary.get("steps", -1), summary.get("train_seconds", -1),
         summary.get("images_per_s", -1), summary.get("best_value"), summary.get("best_step"))
