# Training of the learned models (docs/models.md): one job per (dataset, training group,
# model); a group is one subset (datasets in train.per_subset: simart's modalities) or
# `all` the dataset's training subsets (simart.data.datasets). Selected on the group's
# validation split. Outputs results/models/{dataset}/{group}/{model}/: best.pt (weights of the best validation step,
# read by predict_shard), log.csv (loss and validation metrics per step), summary.json
# (training time, images/s, peak memory, parameters). last.pt (not an output, so a killed
# job keeps it) is the checkpoint a rerun resumes from. Inputs and settings:
# simart.workflow.plan (train_inputs, train_cfg, train_settings).
# Data parallel: the job asks for train.gpus GPUs (resource gpu; the Slurm profile must not
# set it for this rule) and runs one process per GPU -- CPU processes with gloo where torch
# has no CUDA -- with train.threads CPUs each (simart.train.distributed). SIGUSR1/SIGTERM
# (the profile's --signal before the time limit, preemption): last.pt is written, the job
# exits 75 and Snakemake's retry resumes.


rule train_model:
    """Train one learned model on one training group of a dataset (resumes from last.pt)."""
    input:
        unpack(lambda wc: PLAN.train_inputs(wc.dataset, wc.group, wc.model)),
    output:
        best=f"{R}/models/{{dataset}}/{{group}}/{{model}}/best.pt",
        summary=f"{R}/models/{{dataset}}/{{group}}/{{model}}/summary.json",
        log_csv=f"{R}/models/{{dataset}}/{{group}}/{{model}}/log.csv",
    wildcard_constraints:
        model="|".join(LEARNED_MODELS),
        group="|".join(["all", *PLAN.all_subsets]),
    log:
        f"{R}/logs/train/{{dataset}}_{{group}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{dataset}}_{{group}}_{{model}}.tsv"
    params:
        code=code("train_model.py"),  # the library code it runs
        cfg=lambda wc: PLAN.train_cfg(wc.dataset),
        subsets=lambda wc: PLAN.group_subsets(wc.dataset, wc.group),
        unpaired=lambda wc: PLAN.train_unpaired(wc.dataset, wc.model),
        settings=lambda wc: PLAN.train_settings(wc.model),
        hparams=lambda wc: CFG.train.hparams(wc.model, wc.dataset),
    threads: CFG.train.gpus * max(1, CFG.train.threads)
    resources:
        gpu=CFG.train.gpus,
        **train_job(mem_mb=32000, runtime=24 * 60),
    conda:
        "../envs/simart.yaml"
    script:
        "../workflow_scripts/train_model.py"


rule train:
    """Target: every learned model of evaluate.models on every dataset of evaluate.datasets."""
    input:
        PLAN.all_trained(),
