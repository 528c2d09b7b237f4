"""Rule train_model: train one learned model on one dataset (resumes from last.pt).

Data-parallel in as many processes as the job's GPUs (resource ``gpu`` = config
``train.gpus``; CPU processes where torch has no CUDA). The processes are spawned and import
this script: its work stays under the ``__main__`` guard. Stopped by SIGUSR1 / SIGTERM (the
Slurm profile's ``--signal``, preemption), it writes its resume point and exits with
EXIT_PREEMPTED, so that Snakemake's retry resumes it.
"""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import sys
from pathlib import Path

from simart import runlog
from simart.config import validate_config
from simart.train.distributed import EXIT_PREEMPTED, Preempted
from simart.train.pipeline import train_model


def main(smk) -> int:
    log = runlog.setup(smk.log[0])
    wc, p, inp = smk.wildcards, smk.params, smk.input
    cfg = validate_config(p.cfg)
    unpaired = {f: (list(inp[f]), which) for f, which in p.unpaired.items()}
    processes = max(1, int(smk.resources.get("gpu", 1)))
    try:
        summary = train_model(wc.model, wc.dataset, p.subsets, list(inp.train), list(inp.val),
                              p.settings, p.hparams, Path(smk.output.best).parent,
                              seed=cfg.seed, cfg=cfg, unpaired=unpaired, processes=processes,
                              code=p.code)
    except Preempted as exc:
        log.warning("%s on %s: %s; exit status %d so that Snakemake retries", wc.model,
                    wc.dataset, exc, EXIT_PREEMPTED)
        return EXIT_PREEMPTED
    log.info("%s on %s: %d steps in %.1f s (%.1f images/s, %d process(es)), best val PSNR "
             "%s at step %s", wc.model, wc.dataset, summary.get("steps", -1),
             summary.get("train_seconds", -1), summary.get("images_per_s", -1), processes,
             summary.get("best_value"), summary.get("best_step"))
    return 0


if __name__ == "__main__":
    sys.exit(main(snakemake))  # noqa: F821
