# Seed 002 (PI-DDPM) table and eta ablation, seed 003 Figs. 3-4 and its claims-vs-measured,
# seed 004 figures (distributions with Mood's stars, DDPM-avg vs k, uncertainty maps) and
# its claims-vs-measured. Each rule reads only the cells / files it draws (SPEC §10).
# Library: simart.reporting.seed002 / seed003_claims / seed004_claims,
# simart.figures.seed002 / seed003 / seed004.
from simart.reporting.seed002 import eta_rows as _s002_eta_rows  # noqa: E402

S002_MODELS = ("pi_ddpm", "pi_ddpm_plain", "unet", "richardson_lucy", "noisy")
S003_ABLATION = ("cyclegan", "pdanet_da", "pdanet_da_ws", "pdanet")
S004_MODELS = ("noisy", "n2v", "pix2pix", "unet_rcan", "care", "cond_ddpm")
DATASET_NAMES = ("simart", "stem_lattice", "stm_cu111", "lm")


def h4_evaluated(dataset, models):
    """The models of ``models`` that have cells on ``dataset`` in this config."""
    if dataset not in VIEWS:
        return []
    names = set(cell_models(dataset))
    return [m for m in models if m in names]


def h4_cells(dataset, models, subsets=None):
    """Cell tables of the evaluated ``models`` on ``dataset`` (its scored subsets)."""
    if dataset not in VIEWS:
        return []
    subs = subsets or VIEWS[dataset].eval_subsets
    return [f"{R}/metrics/{dataset}/{s}/{m}.parquet" for s in subs
            for m in h4_evaluated(dataset, models)]


def h4_missing(dataset, models):
    """{model: why it has no cell on ``dataset``} (for "missing: reason" in tables/figures)."""
    out = {}
    for m in models:
        if m in EVAL_NAMES and applies(m, dataset):
            continue
        if m not in EVAL_NAMES:
            out[m] = "not evaluated in this config (evaluate.models)"
        else:
            where = [d for d in DATASET_NAMES if model_applies(m, d, CFG.evaluate.model_datasets)]
            out[m] = f"not run on {dataset} (runs on {', '.join(where) or 'no dataset'})"
    return out


def h4_scale(dataset, models):
    """{model: what our run was} for claims_vs_measured (from the config only)."""
    part = getattr(CFG, dataset, None)
    size = (getattr(part, "image_size", None) or CFG.image_size)
    out = {}
    for m in models:
        s = f"{size}² px"
        net = eval_entry(m)[0]
        if is_learned(m) and net in LEARNED_MODELS:
            s += f", {CFG.train.settings(net)['steps']} training steps"
        out[m] = s
    return out


def h4_figure(name, category, subcategory):
    """The figure's files (CFG.figures.formats), each marked for `snakemake --report`."""
    return [report(f"{R}/figures/{name}.{ext}", caption=f"../report/{name}.rst",
                   category=category, subcategory=subcategory)
            for ext in CFG.figures.formats]


# ------------------------------------------------------------------------- seed 002
def s002_context():
    lm = CFG.lm if "lm" in VIEWS else None
    if lm is None:
        return ""
    steps = {m: CFG.train.settings(m)["steps"] for m in h4_evaluated("lm", S002_MODELS)
             if m in LEARNED_MODELS}
    return (f"Run: `lm` test split, {lm.images_per_mode.test} images per mode of "
            f"{lm.image_size or CFG.image_size}² px; training steps: "
            + (", ".join(f"{m} {n}" for m, n in sorted(steps.items())) or "none")
            + ". The seed trains on ImageNet/BioSR-derived data for ~1 M iterations and tests "
            "on BioSR, W2S and dSTORM; compare orderings, not absolute values.")


def s002_eta_rows():
    return _s002_eta_rows(CFG, cell_models("lm")) if "lm" in VIEWS else {}


rule seed002_tables:
    """Seed 002: PSNR / MS-SSIM / NRMSE of PI-DDPM, DDPM, U-Net (RL: simart only) on lm,
    and the seed's prose orderings checked on the same images."""
    input:
        h4_cells("lm", S002_MODELS),
    output:
        md=f"{R}/tables/seed002_table.md",
        csv=f"{R}/tables/seed002_table.csv",
        claims=f"{R}/tables/claims_vs_measured_seed002.csv",
    log:
        f"{R}/logs/seed002_tables.log",
    benchmark:
        f"{R}/benchmarks/seed002_tables.tsv"
    params:
        code=code("seed002_tables.py"),  # the library code it runs
        subsets=list(VIEWS["lm"].eval_subsets) if "lm" in VIEWS else [],
        missing=h4_missing("lm", S002_MODELS),
        context=s002_context(),
        scale=f"{(CFG.lm.image_size or CFG.image_size)}² px, "
        f"{CFG.train.settings('pi_ddpm')['steps']} training steps",
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed002_tables.py"


rule fig_seed002_eta_ablation:
    """Seed 002 Fig. 5: PI-DDPM rows (trained or sampling variants) against eta and R."""
    input:
        h4_cells("lm", list(s002_eta_rows())),
    output:
        h4_figure("seed002_eta_ablation", "Seed 002", "PI-DDPM eta ablation"),
    log:
        f"{R}/logs/fig_seed002_eta_ablation.log",
    benchmark:
        f"{R}/benchmarks/fig_seed002_eta_ablation.tsv"
    params:
        code=code("fig_seed002_eta_ablation.py"),  # the library code it runs
        rows=s002_eta_rows(),
        subsets=list(VIEWS["lm"].eval_subsets) if "lm" in VIEWS else [],
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed002_eta_ablation.py"


if h4_evaluated("lm", ("pi_ddpm", "pi_ddpm_plain", "unet")):
    FIGURE_TARGETS.extend([f"{R}/tables/seed002_table.md", f"{R}/tables/seed002_table.csv",
                           f"{R}/tables/claims_vs_measured_seed002.csv"])
if s002_eta_rows():
    FIGURE_TARGETS.extend(expand(f"{R}/figures/seed002_eta_ablation.{{ext}}",
                                 ext=CFG.figures.formats))


# ------------------------------------------------------------------------- seed 003
def s003_paths(subset):
    """{shard, predictions, cells} of one Fig. 3/4: first test shard of ``subset``, the
    ablation rows' predictions of it, the cells (with the input's) that annotate it."""
    if "stm_cu111" not in VIEWS:
        return {"shard": "", "predictions": {}, "cells": {}}
    v = VIEWS["stm_cu111"]
    shard = v.shard_ids("test")[0]
    return {
        "shard": v.shard_path(subset, "test", shard, R),
        "predictions": {m: f"{R}/predictions/stm_cu111/{m}/{shard}.h5"
                        for m in h4_evaluated("stm_cu111", S003_ABLATION)},
        "cells": {m: f"{R}/metrics/stm_cu111/{subset}/{m}.parquet"
                  for m in h4_evaluated("stm_cu111", ("noisy", *S003_ABLATION))},
    }


def s003_fig_context(subset):
    st = CFG.stm_cu111
    return (f"stm_cu111/{subset} test images ({st.image_size or CFG.image_size}² px), "
            "first test shard")


rule fig_seed003_fig3:
    """Seed 003 Fig. 3: clean / blurry / each ablation row's output (simulated domain)."""
    input:
        [p for p in flat_paths(s003_paths("blurry")) if p],
    output:
        h4_figure("seed003_fig3_simulated", "Seed 003", "Fig. 3 (simulated domain)"),
    log:
        f"{R}/logs/fig_seed003_fig3.log",
    benchmark:
        f"{R}/benchmarks/fig_seed003_fig3.tsv"
    params:
        code=code("fig_seed003_examples.py"),  # the library code it runs
        **s003_paths("blurry"),
        subset="blurry",
        missing=h4_missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title="Seed 003 Fig. 3: " + s003_fig_context("blurry")
        + " (PSNR / SSIM vs the clean map; grey scale 0-1)",
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_examples.py"


rule fig_seed003_fig4:
    """Seed 003 Fig. 4: experimental-like inputs and the ablation rows' outputs."""
    input:
        [p for p in flat_paths(s003_paths("experimental")) if p],
    output:
        h4_figure("seed003_fig4_experimental", "Seed 003", "Fig. 4 (experimental-like domain)"),
    log:
        f"{R}/logs/fig_seed003_fig4.log",
    benchmark:
        f"{R}/benchmarks/fig_seed003_fig4.tsv"
    params:
        code=code("fig_seed003_examples.py"),  # the library code it runs
        **s003_paths("experimental"),
        subset="experimental",
        missing=h4_missing("stm_cu111", S003_ABLATION),
        n_examples=4,
        dpi=CFG.figures.dpi,
        title="Seed 003 Fig. 4: " + s003_fig_context("experimental")
        + " (BRISQUE / PIQE, no reference; grey scale 0-1)",
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_examples.py"


rule seed003_claims:
    """Seed 003's claimed Table I/II numbers beside ours (claims_vs_measured_seed003.csv)."""
    input:
        tables=seed003_outputs()["csv"],
    output:
        csv=f"{R}/tables/claims_vs_measured_seed003.csv",
    log:
        f"{R}/logs/seed003_claims.log",
    benchmark:
        f"{R}/benchmarks/seed003_claims.tsv"
    params:
        code=code("fig_seed003_claims.py"),  # the library code it runs
        scale=h4_scale("stm_cu111", ("noisy", *S003_ABLATION)),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed003_claims.py"


if h4_evaluated("stm_cu111", S003_ABLATION):
    FIGURE_TARGETS.extend(expand(f"{R}/figures/seed003_fig{{fig}}.{{ext}}",
                                 fig=["3_simulated", "4_experimental"],
                                 ext=CFG.figures.formats))
if seed003_cells():
    FIGURE_TARGETS.append(f"{R}/tables/claims_vs_measured_seed003.csv")


# ------------------------------------------------------------------------- seed 004
def s004_curve():
    """The per-image DDPM-avg curve of rule seed004_tables (none without cond_ddpm)."""
    return [seed004_outputs()["curve"]] if seed004_inputs() else []


def s004_n_samples():
    from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    preset = PAPER_HPARAMS if CFG.train.hparams_preset == "paper" else DEFAULT_HPARAMS
    return int({**preset["cond_ddpm"], **CFG.train.hparams("cond_ddpm")}["n_samples"])


def s004_scale():
    out = h4_scale("lm", S004_MODELS)
    if "cond_ddpm" in out:
        from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

        preset = PAPER_HPARAMS if CFG.train.hparams_preset == "paper" else DEFAULT_HPARAMS
        hp = {**preset["cond_ddpm"], **CFG.train.hparams("cond_ddpm")}
        out["cond_ddpm"] += (f", {hp['sampler'].upper()} {hp['steps']} steps, mean of "
                             f"N = {hp['n_samples']} samples")
        out["cond_ddpm_single"] = h4_scale("lm", ["cond_ddpm"])["cond_ddpm"] + (
            f", {hp['sampler'].upper()} {hp['steps']} steps, one sample")
    return out


rule fig_seed004_distributions:
    """Seed 004 Figs. 1A-4A/S3: metric distributions per method on lm, Mood's-test stars
    against DDPM-avg and one DDPM sample (computed from the cells)."""
    input:
        cells=h4_cells("lm", S004_MODELS),
        curve=s004_curve(),
    output:
        figures=h4_figure("seed004_distributions", "Seed 004", "metric distributions"),
        stats=f"{R}/tables/seed004_distributions_stats.csv",
    log:
        f"{R}/logs/fig_seed004_distributions.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_distributions.tsv"
    params:
        code=code("fig_seed004_distributions.py"),  # the library code it runs
        missing=h4_missing("lm", S004_MODELS),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_distributions.py"


rule fig_seed004_ddpm_avg:
    """Seed 004 Fig. S1: DDPM-avg of the first k samples against k."""
    input:
        s004_curve(),
    output:
        h4_figure("seed004_ddpm_avg", "Seed 004", "DDPM-avg vs number of samples"),
    log:
        f"{R}/logs/fig_seed004_ddpm_avg.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_ddpm_avg.tsv"
    params:
        code=code("fig_seed004_ddpm_avg.py"),  # the library code it runs
        n_samples=s004_n_samples(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_ddpm_avg.py"


def s004_uncertainty_paths():
    """The first test shard's cond_ddpm prediction file and its {mode: test shard}."""
    paths = seed004_inputs()
    if not paths:
        return {"pred": "", "shards": {}}
    return {"pred": paths["preds"][0], "shards": paths["shards"][0]}


rule fig_seed004_uncertainty:
    """Seed 004 Fig. S2: input, DDPM-avg, clean, std, entropy and error maps."""
    input:
        [p for p in flat_paths(s004_uncertainty_paths()) if p],
    output:
        h4_figure("seed004_uncertainty_maps", "Seed 004", "uncertainty maps"),
    log:
        f"{R}/logs/fig_seed004_uncertainty.log",
    benchmark:
        f"{R}/benchmarks/fig_seed004_uncertainty.tsv"
    params:
        code=code("fig_seed004_uncertainty.py"),  # the library code it runs
        **s004_uncertainty_paths(),
        n_examples=2,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_uncertainty.py"


rule seed004_claims:
    """Seed 004's claimed medians beside ours (claims_vs_measured_seed004.csv)."""
    input:
        cells=h4_cells("lm", S004_MODELS),
        curve=s004_curve(),
    output:
        csv=f"{R}/tables/claims_vs_measured_seed004.csv",
    log:
        f"{R}/logs/seed004_claims.log",
    benchmark:
        f"{R}/benchmarks/seed004_claims.tsv"
    params:
        code=code("fig_seed004_claims.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        scale=s004_scale(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed004_claims.py"


if h4_evaluated("lm", S004_MODELS):
    FIGURE_TARGETS.extend([*expand(f"{R}/figures/seed004_distributions.{{ext}}",
                                   ext=CFG.figures.formats),
                           f"{R}/tables/seed004_distributions_stats.csv",
                           f"{R}/tables/claims_vs_measured_seed004.csv"])
if seed004_inputs():
    FIGURE_TARGETS.extend(expand(f"{R}/figures/seed004_{{name}}.{{ext}}",
                                 name=["ddpm_avg", "uncertainty_maps"],
                                 ext=CFG.figures.formats))
