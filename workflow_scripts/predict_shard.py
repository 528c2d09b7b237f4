"""Rule predict_shard: restore test shard {shard} of every scored subset with one model.

With evaluate.score_in_prediction_job (output ``scores``), it then scores them as
score_shard would (one process instead of two).

Resumable: the job keeps a resume point beside its predictions ({shard}.resume.h5, saved
every evaluate.inference.resume_every_minutes). Stopped by SIGUSR1 / SIGTERM (the Slurm
profile's --signal before the time limit, preemption), it finishes its batch, saves and
exits with EXIT_PREEMPTED, so that Snakemake's retry continues from there.
"""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import sys
import time

from simart import runlog
from simart.evaluation.cells import predict_shards, score_and_log
from simart.evaluation.resume import resume_minutes
from simart.train.distributed import EXIT_PREEMPTED, Preempted


def main(smk) -> int:
    log = runlog.setup(smk.log[0])
    wc, p, inp = smk.wildcards, smk.params, smk.input
    t0 = time.perf_counter()
    try:
        table = predict_shards({s: inp[s] for s in p.subsets}, wc.model,
                               smk.output.pred, smk.output.table, dataset=wc.dataset,
                               weights={s: inp.get(f"weights_{s}") for s in p.subsets},
                               model_kwargs=p.model_kwargs, seed=p.seed,
                               resume_every_minutes=resume_minutes(smk.config))
    except Preempted as exc:
        log.warning("%s %s shard %s: %s; exit status %d so that Snakemake retries",
                    wc.dataset, wc.model, wc.shard, exc, EXIT_PREEMPTED)
        return EXIT_PREEMPTED
    missing = table.loc[table["status"] != "ok", "missing_reason"].unique()
    log.info("%s %s shard %s (%s): %d images in %.2f s; missing: %s; inference: %s",
             wc.dataset, wc.model, wc.shard, ", ".join(p.subsets), len(table),
             time.perf_counter() - t0, list(missing) or "none",
             p.model_kwargs.get("inference", "default (float32, eager)"))
    scores = getattr(smk.output, "scores", None)  # evaluate.score_in_prediction_job
    if scores is not None:
        score_and_log({s: inp[s] for s in p.subsets}, smk.output.pred, smk.output.table,
                      scores, **p.score, label=f"{wc.dataset} {wc.model} shard {wc.shard}")
    return 0


if __name__ == "__main__":
    sys.exit(main(snakemake))  # noqa: F821
