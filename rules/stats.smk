# Scoring and statistics (issue 3): every metric of simart.metrics.METRICS per test shard
# (score_shard, separate from predict_shard so a new metric never re-runs a restoration),
# and SPEC §9 statistics across the cells (stats).
import os


def lpips_backbone_path():
    """Where LPIPS looks for torchvision's AlexNet checkpoint (as torch.hub.get_dir())."""
    if CFG.evaluate.lpips_backbone:
        return os.path.abspath(os.path.expanduser(CFG.evaluate.lpips_backbone))
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.join(os.path.expanduser(home), "hub", "checkpoints", "alexnet-owt-7be5be79.pth")


def score_inputs(wc):
    """Shard, predictions, run table; plus the LPIPS backbone when it exists (so putting it
    in place later re-scores: Snakemake's 'input' rerun trigger)."""
    inputs = {
        **test_shards(wc),
        "pred": f"{R}/predictions/{wc.dataset}/{wc.model}/{wc.shard}.h5",
        "run": f"{R}/runs/{wc.dataset}/{wc.model}/{wc.shard}.parquet",
    }
    if "lpips" in METRICS and os.path.isfile(lpips_backbone_path()):
        inputs["lpips_backbone"] = lpips_backbone_path()
    return inputs


rule score_shard:
    """Every configured metric for one test shard's predictions: one row per image."""
    input:
        unpack(score_inputs),
    output:
        f"{R}/metrics_shards/{{dataset}}/{{model}}/{{shard}}.parquet",
    log:
        f"{R}/logs/score/{{dataset}}_{{model}}_{{shard}}.log",
    benchmark:
        f"{R}/benchmarks/score/{{dataset}}_{{model}}_{{shard}}.tsv"
    params:
        code=code("score_shard.py"),  # the library code it runs
        metrics=METRICS,
        data_range=CFG.evaluate.data_range,
        lpips_backbone=lpips_backbone_path() if "lpips" in METRICS else None,
        subsets=lambda wc: list(VIEWS[wc.dataset].eval_subsets),
    threads: 1
    resources:
        **shard_job(eval_pixels, bytes_per_px=24, px_per_min=2**18),
    script:
        "../workflow_scripts/score_shard.py"


rule stats:
    """SPEC §9: Mood / paired t / Wilcoxon + Holm, bootstrap CIs, per modality x metric."""
    input:
        all_cells(),
    output:
        **stats_outputs(),
    log:
        f"{R}/logs/stats.log",
    benchmark:
        f"{R}/benchmarks/stats.tsv"
    params:
        code=code("stats.py"),  # the library code it runs
        metrics=list(CFG.stats.metrics or METRICS),
        reference=CFG.stats.reference_model,
        all_pairs=CFG.stats.pairs == "all",
        n_bootstrap=CFG.stats.n_bootstrap,
        ci_level=CFG.stats.ci_level,
        seed=CFG.seed,
    resources:
        **small_job(mem_mb=4000, runtime=60),
    script:
        "../workflow_scripts/stats.py"
