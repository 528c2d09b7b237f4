# Training of the learned models (issue 6; SPEC §7): one job per (dataset, training group,
# model); a group is one subset (datasets in train.per_subset: simart's modalities) or
# `all` the dataset's training subsets (simart.data.datasets). Selected on the group's
# validation split. Outputs results/models/{dataset}/{group}/{model}/: best.pt (weights of the best validation step,
# read by predict_shard), log.csv (loss and validation metrics per step), summary.json
# (training time, images/s, peak memory, parameters). last.pt (not an output, so a killed
# job keeps it) is the checkpoint a rerun resumes from.


def train_inputs(wc):
    v = VIEWS[wc.dataset]
    subsets = v.all_groups[wc.group]
    return {"train": v.shards(subsets, "train", R), "val": v.shards(subsets, "val", R),
            **unpaired_inputs(wc.dataset, wc.model)}


def train_params_cfg(wc):
    """Config parts a training depends on: simart's Noise2Noise pairs replay its parameters."""
    keys = ("seed", "image_size", "simart") if wc.dataset == "simart" else ("seed",)
    return cfg_part(*keys)


rule train_model:
    """Train one learned model on one training group of a dataset (resumes from last.pt)."""
    input:
        unpack(train_inputs),
    output:
        best=f"{R}/models/{{dataset}}/{{group}}/{{model}}/best.pt",
        summary=f"{R}/models/{{dataset}}/{{group}}/{{model}}/summary.json",
        log_csv=f"{R}/models/{{dataset}}/{{group}}/{{model}}/log.csv",
    wildcard_constraints:
        model="|".join(LEARNED_MODELS),
        group="|".join(["all", *ALL_SUBSETS]),
    log:
        f"{R}/logs/train/{{dataset}}_{{group}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{dataset}}_{{group}}_{{model}}.tsv"
    params:
        code=code("train_model.py"),  # the library code it runs
        cfg=train_params_cfg,
        subsets=lambda wc: list(VIEWS[wc.dataset].all_groups[wc.group]),
        unpaired=lambda wc: {f: "clean" if f == "xu" else "degraded"
                             for f in unpaired_inputs(wc.dataset, wc.model)},
        settings=lambda wc: {**CFG.train.settings(wc.model), "device": CFG.train.device,
                             "deterministic": CFG.train.deterministic,
                             "threads": CFG.train.threads, "num_workers": CFG.train.num_workers,
                             "progress": CFG.train.progress},
        hparams=lambda wc: CFG.train.hparams(wc.model, wc.dataset),
    threads: max(1, CFG.train.threads)
    resources:
        **train_job(mem_mb=32000, runtime=24 * 60),
    script:
        "../workflow_scripts/train_model.py"


rule train:
    """Target: every learned model of evaluate.models on every dataset of evaluate.datasets."""
    input:
        all_trained(),
