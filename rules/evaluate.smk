# Restoration of the test split. One predict_shard job per (dataset, model, test shard
# index) restores that shard of every scored subset (SIMART modalities, CDN levels, ...),
# so a learned model is loaded once per job; score_shard (rules/stats.smk) scores it;
# metrics_cell writes one benchmark cell (dataset, subset, model). Learned models read
# their trained weights (rules/train.smk).


def test_shards(wc):
    """{subset: test shard path} of one shard index, every scored subset of the dataset."""
    v = VIEWS[wc.dataset]
    return {s: v.shard_path(s, "test", wc.shard, R) for s in v.eval_subsets}


def predict_weights(wc):
    """{subset: weights of the model that restores it} (learned models and their study
    rows; rules/train.smk)."""
    v = VIEWS[wc.dataset]
    return {s: entry_weights(wc.dataset, wc.model, s) for s in v.eval_subsets}


def predict_inputs(wc):
    inputs = dict(test_shards(wc))
    if is_learned(wc.model):
        inputs.update({f"weights_{s}": p for s, p in predict_weights(wc).items()})
    return inputs


def eval_pixels(wc):
    """Pixels one predict/score job handles (its shard of every scored subset)."""
    v = VIEWS[wc.dataset]
    sec = getattr(CFG, wc.dataset)
    size = getattr(sec, "image_size", None) or CFG.image_size
    per_shard = CFG.simart.shard_size if wc.dataset == "simart" else sec.shard_size
    return len(v.eval_subsets) * per_shard * size**2


def predict_kwargs(wc):
    if wc.model == "richardson_lucy":
        return {"num_iter": CFG.evaluate.rl_iterations}
    if is_learned(wc.model):
        net, sampling, _ = eval_entry(wc.model)
        kw = {"device": CFG.train.device, "batch_size": CFG.train.defaults.batch_size}
        if net != wc.model:
            kw["net_model"] = net
        if sampling:
            kw["sampling"] = sampling
        return kw
    return {}


rule predict_shard:
    """Restore test shard {shard} of every scored subset with one model: predictions
    (prediction/{subset}) + run table (scored by score_shard)."""
    input:
        unpack(predict_inputs),
    output:
        pred=f"{R}/predictions/{{dataset}}/{{model}}/{{shard}}.h5",
        table=f"{R}/runs/{{dataset}}/{{model}}/{{shard}}.parquet",
    log:
        f"{R}/logs/predict/{{dataset}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{dataset}}_{{model}}_{{shard}}.tsv"
    params:
        code=code("predict_shard.py"),  # the library code it runs
        model_kwargs=predict_kwargs,
        subsets=lambda wc: list(VIEWS[wc.dataset].eval_subsets),
        seed=CFG.seed,
    threads: 1
    resources:
        **shard_job(eval_pixels, bytes_per_px=20, px_per_min=2**18),
    script:
        "../workflow_scripts/predict_shard.py"


rule metrics_cell:
    """One benchmark cell (dataset, subset, model): one row per test image."""
    input:
        lambda wc: expand(
            f"{R}/metrics_shards/{wc.dataset}/{wc.model}/{{shard}}.parquet",
            shard=eval_shard_ids(wc.dataset, wc.model),
        ),
    output:
        f"{R}/metrics/{{dataset}}/{{subset}}/{{model}}.parquet",
    log:
        f"{R}/logs/metrics_cell/{{dataset}}_{{subset}}_{{model}}.log",
    benchmark:
        f"{R}/benchmarks/metrics_cell/{{dataset}}_{{subset}}_{{model}}.tsv"
    resources:
        **small_job(mem_mb=2000, runtime=15),
    params:
        code=code("metrics_cell.py"),  # the library code it runs
        made_from=made_from,
    script:
        "../workflow_scripts/metrics_cell.py"


rule aggregate_metrics:
    """Aggregated table across cells: mean ± std and median per metric (CSV, Markdown)."""
    input:
        all_cells(),
    output:
        csv=f"{R}/tables/simart_metrics.csv",
        md=f"{R}/tables/simart_metrics.md",
        parquet=f"{R}/tables/simart_metrics.parquet",
    log:
        f"{R}/logs/aggregate_metrics.log",
    benchmark:
        f"{R}/benchmarks/aggregate_metrics.tsv"
    params:
        code=code("aggregate_metrics.py"),  # the library code it runs
        metrics=METRICS,
        data_range=CFG.evaluate.data_range,
    resources:
        **small_job(mem_mb=4000, runtime=15),
    script:
        "../workflow_scripts/aggregate_metrics.py"
