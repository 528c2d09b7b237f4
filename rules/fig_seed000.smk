# Seed 000 Figs. 2-4 (SPEC §10) from the results tables only (simart.figures.seed000).
# Each rule reads the narrowest inputs it draws: the SIMART cell tables of its rows, or
# the trainings' log.csv; rerunning one benchmark cell reruns only the figures showing it.
# Outputs are registered in FIGURE_TARGETS only when the config evaluates what they need.
from simart.figures.rows import curve_baselines as _s000_curve_baselines  # noqa: E402
from simart.figures.rows import eta_sweep_rows as _s000_eta_sweep_rows  # noqa: E402
from simart.figures.rows import pcsd_ablations as _s000_pcsd_ablations  # noqa: E402


def _s000_outputs(name, subcategory):
    """results/figures/{name}.{ext} per figures.formats, each marked for --report."""
    return [report(f"{R}/figures/{name}.{ext}", caption=f"../report/{name}.rst",
                   category="Seed 000", subcategory=subcategory)
            for ext in CFG.figures.formats]


def _s000_rows():
    """Evaluation rows on simart (empty when simart is not evaluated)."""
    return cell_models("simart") if "simart" in VIEWS else []


def _s000_cells(rows):
    """{modality: {row: cell table}} of the SIMART test modalities."""
    if "simart" not in VIEWS:
        return {}
    return {mod: {m: f"{R}/metrics/simart/{mod}/{m}.parquet" for m in rows}
            for mod in VIEWS["simart"].eval_subsets}


def _s000_methods():
    """Fig. 2: every evaluated model on simart but PCSD's training ablations (Fig. 3 A)."""
    rows = _s000_rows()
    ablations = set(_s000_pcsd_ablations(rows))
    return [m for m in MODELS if m in rows and m not in ablations]


def _s000_ablation_rows():
    """Fig. 3 A: pcsd and its evaluated ablations (none unless both are evaluated)."""
    rows = _s000_rows()
    ablations = _s000_pcsd_ablations(rows)
    return ["pcsd", *ablations] if "pcsd" in rows and ablations else []


def _s000_etas():
    """Fig. 3 B: {row: eta} of pcsd (its trained eta: preset + train.models.pcsd.hparams)
    and its variants that only change eta; empty with fewer than two such rows."""
    from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    rows = _s000_rows()
    if "pcsd" not in rows:
        return {}
    preset = PAPER_HPARAMS if CFG.train.hparams_preset == "paper" else DEFAULT_HPARAMS
    base = {**preset["pcsd"], **CFG.train.hparams("pcsd")}["eta"]
    variants = {n: (v.model, dict(v.sampling))
                for n, v in CFG.evaluate.active_variants().items() if n in rows}
    etas = _s000_eta_sweep_rows(variants, base, "pcsd")
    return etas if len(etas) > 1 else {}


def _s000_logs():
    """Fig. 3 C/D: {model: {group: log.csv}} of pcsd (joint) and a few baselines."""
    rows = _s000_rows()
    if "pcsd" not in rows:
        return {}
    v = VIEWS["simart"]
    models = ["pcsd", *_s000_curve_baselines([m for m in learned_models() if m in rows])]
    return {m: {g: f"{R}/models/simart/{g}/{m}/log.csv" for g in v.groups_for(m)}
            for m in models}


def _s000_cross_rows():
    """Fig. 4: {training label: row}: pcsd_from_<modality> per modality, and joint pcsd."""
    rows = _s000_rows()
    if "pcsd" not in CFG.evaluate.cross_modal or "pcsd" not in rows:
        return {}
    out = {mod: f"pcsd_from_{mod}" for mod in MODALITIES if f"pcsd_from_{mod}" in rows}
    return {**out, "joint": "pcsd"} if out else {}


def _s000_cross_cells():
    rows = list(_s000_cross_rows().values())
    return _s000_cells(rows + (["noisy"] if "noisy" in _s000_rows() else []))


rule fig2_modality_bars:
    """Seed 000 Fig. 2 A/B: per-modality PSNR and SSIM of every method (mean ± std)."""
    input:
        flat_paths(_s000_cells(_s000_methods())),
    output:
        _s000_outputs("fig2_modality_bars", "Fig. 2"),
    log:
        f"{R}/logs/fig2_modality_bars.log",
    benchmark:
        f"{R}/benchmarks/fig2_modality_bars.tsv"
    params:
        code=code("fig_seed000_fig2_bars.py"),  # the library code it runs
        cells=_s000_cells(_s000_methods()),
        models=_s000_methods(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig2_bars.py"


rule fig2_quality_speed:
    """Seed 000 Fig. 2 C: PSNR vs inference seconds per image (log x), per modality."""
    input:
        flat_paths(_s000_cells(_s000_methods())),
    output:
        _s000_outputs("fig2_quality_speed", "Fig. 2"),
    log:
        f"{R}/logs/fig2_quality_speed.log",
    benchmark:
        f"{R}/benchmarks/fig2_quality_speed.tsv"
    params:
        code=code("fig_seed000_fig2_speed.py"),  # the library code it runs
        cells=_s000_cells(_s000_methods()),
        models=_s000_methods(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig2_speed.py"


rule fig3_ablations:
    """Seed 000 Fig. 3 A: PCSD and its training ablations, PSNR / SSIM per modality."""
    input:
        flat_paths(_s000_cells(_s000_ablation_rows())),
    output:
        _s000_outputs("fig3_ablations", "Fig. 3"),
    log:
        f"{R}/logs/fig3_ablations.log",
    benchmark:
        f"{R}/benchmarks/fig3_ablations.tsv"
    params:
        code=code("fig_seed000_fig3_ablations.py"),  # the library code it runs
        cells=_s000_cells(_s000_ablation_rows()),
        models=_s000_ablation_rows(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig3_ablations.py"


rule fig3_eta_sweep:
    """Seed 000 Fig. 3 B: PSNR / SSIM vs PCSD's physics-guidance strength eta."""
    input:
        flat_paths(_s000_cells(list(_s000_etas()))),
    output:
        _s000_outputs("fig3_eta_sweep", "Fig. 3"),
    log:
        f"{R}/logs/fig3_eta_sweep.log",
    benchmark:
        f"{R}/benchmarks/fig3_eta_sweep.tsv"
    params:
        code=code("fig_seed000_fig3_eta.py"),  # the library code it runs
        cells=_s000_cells(list(_s000_etas())),
        etas=_s000_etas(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig3_eta.py"


rule fig3_training_curves:
    """Seed 000 Fig. 3 C/D: training loss and validation PSNR vs step (log.csv)."""
    input:
        flat_paths(_s000_logs()),
    output:
        _s000_outputs("fig3_training_curves", "Fig. 3"),
    log:
        f"{R}/logs/fig3_training_curves.log",
    benchmark:
        f"{R}/benchmarks/fig3_training_curves.tsv"
    params:
        code=code("fig_seed000_fig3_curves.py"),  # the library code it runs
        logs=_s000_logs(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig3_curves.py"


rule fig4_cross_modal:
    """Seed 000 Fig. 4: PCSD trained on one modality (or all), PSNR on each modality."""
    input:
        flat_paths(_s000_cross_cells()),
    output:
        _s000_outputs("fig4_cross_modal", "Fig. 4"),
    log:
        f"{R}/logs/fig4_cross_modal.log",
    benchmark:
        f"{R}/benchmarks/fig4_cross_modal.tsv"
    params:
        code=code("fig_seed000_fig4_cross_modal.py"),  # the library code it runs
        cells=_s000_cross_cells(),
        rows=_s000_cross_rows(),
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed000_fig4_cross_modal.py"


def _s000_targets():
    """The Seed 000 Fig. 2-4 files the current config can produce."""
    names = []
    if _s000_methods():
        names += ["fig2_modality_bars", "fig2_quality_speed"]
    if _s000_ablation_rows():
        names.append("fig3_ablations")
    if _s000_etas():
        names.append("fig3_eta_sweep")
    if _s000_logs():
        names.append("fig3_training_curves")
    if _s000_cross_rows():
        names.append("fig4_cross_modal")
    return [f"{R}/figures/{n}.{ext}" for n in names for ext in CFG.figures.formats]


FIGURE_TARGETS.extend(_s000_targets())
