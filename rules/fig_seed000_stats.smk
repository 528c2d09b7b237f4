# Seed 000 Figs. 5/7 (qualitative comparison + error maps) and Fig. 6 (statistics), from the
# SIMART cells, test shards, predictions and the statistics table (src/simart/figures/
# seed000_qualitative.py, seed000_stats.py). Each rule reads only the simart cells it draws.

#: the seed's Fig. 5 methods (its Fig. 7: Wiener, BM3D, U-Net, PCSD, a subset)
SEED000_FIG5_MODELS = ["wiener", "bm3d", "care", "cyclegan", "unet", "n2n", "pcsd"]
#: Fig. 6 panel C: one classical method, one CNN and PCSD, where evaluated
SEED000_FIG6_HIGHLIGHT = ["wiener", "unet", "pcsd"]
SEED000_FIG6_METRICS = ["psnr", "ssim", "epi_corr"]


def seed000_simart_rows():
    """Models (not study rows) evaluated on simart."""
    return [m for m in cell_models("simart") if m in MODELS] if "simart" in VIEWS else []


def fig5_models():
    """Methods of Figs. 5/7: figures.fig5_models if the config has it, else the seed's list;
    those evaluated on simart, PCSD added when evaluated (the input is its own column)."""
    evaluated = seed000_simart_rows()
    wanted = CFG.figures.fig5_models or SEED000_FIG5_MODELS
    out = [m for m in dict.fromkeys(wanted) if m in evaluated and m != "noisy"]
    return out + (["pcsd"] if "pcsd" in evaluated and "pcsd" not in out else [])


def fig5_inputs():
    """Paths Figs. 5/7 read: first test shard per modality, its predictions, the cells."""
    models = fig5_models()
    cells = models + (["noisy"] if "noisy" in seed000_simart_rows() else [])
    return {
        "shards": {m: f"{R}/simart/shards/{m}/test/0000.h5" for m in MODALITIES},
        "predictions": {m: {k: f"{R}/predictions/simart/{k}/0000.h5" for k in models}
                        for m in MODALITIES},
        "cell_tables": {m: {k: f"{R}/metrics/simart/{m}/{k}.parquet" for k in cells}
                        for m in MODALITIES},
    }


def fig6_models():
    """Rows of Fig. 6: figures.fig6_models if the config has it, else every model evaluated
    on simart except the reference and PCSD's ablations (Table 3 has its own figure)."""
    ref = CFG.stats.reference_model
    evaluated = seed000_simart_rows()
    wanted = CFG.figures.fig6_models or [
        m for m in evaluated if m == "pcsd" or not m.startswith("pcsd")]
    return [m for m in dict.fromkeys(wanted) if m in evaluated and m != ref]


def fig6_inputs():
    """{stats: the statistics table, cells: {modality: {model: cell}}} (reference included)."""
    models = fig6_models() + [CFG.stats.reference_model]
    return {"stats": stats_outputs()["csv"],
            "cells": {mod: {m: f"{R}/metrics/simart/{mod}/{m}.parquet" for m in models}
                      for mod in MODALITIES}}


def seed000_fig_outputs(name, caption, subcategory):
    return [report(f"{R}/figures/{name}.{ext}", caption=f"../report/{caption}.rst",
                   category="Seed 000", subcategory=subcategory)
            for ext in CFG.figures.formats]


rule fig5_qualitative:
    """Seed 000 Figs. 5/7: restorations of one test image per modality with error maps."""
    input:
        lambda wc: list(dict.fromkeys(flat_paths(fig5_inputs()))),
    output:
        seed000_fig_outputs("fig5_qualitative", "fig5_qualitative", "Qualitative comparison"),
    log:
        f"{R}/logs/fig5_qualitative.log",
    benchmark:
        f"{R}/benchmarks/fig5_qualitative.tsv"
    params:
        code=code("fig_seed000_qualitative.py"),  # the library code it runs
        paths=fig5_inputs(),
        models=fig5_models(),
        example_index=CFG.figures.example_index,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_qualitative.py"


rule fig6_statistics:
    """Seed 000 Fig. 6: p-values vs the input, per-image ΔPSNR, ΔPSNR vs severity."""
    input:
        stats=fig6_inputs()["stats"],
        cells=flat_paths(fig6_inputs()["cells"]),
    output:
        figures=seed000_fig_outputs("fig6_statistics", "fig6_statistics", "Statistics"),
        improvements=f"{R}/tables/seed000_fig6_improvements.csv",
    log:
        f"{R}/logs/fig6_statistics.log",
    benchmark:
        f"{R}/benchmarks/fig6_statistics.tsv"
    params:
        code=code("fig_seed000_stats.py"),  # the library code it runs
        cells=fig6_inputs()["cells"],
        models=fig6_models(),
        reference=CFG.stats.reference_model,
        metrics=SEED000_FIG6_METRICS,
        highlight=SEED000_FIG6_HIGHLIGHT,
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_stats.py"


if fig5_models():
    FIGURE_TARGETS.extend(f"{R}/figures/fig5_qualitative.{ext}" for ext in CFG.figures.formats)
if fig6_models() and CFG.stats.reference_model in seed000_simart_rows():
    FIGURE_TARGETS.extend(f"{R}/figures/fig6_statistics.{ext}" for ext in CFG.figures.formats)
    FIGURE_TARGETS.append(f"{R}/tables/seed000_fig6_improvements.csv")
