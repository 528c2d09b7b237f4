# Seed 001: metric-vs-CDN-noise-level curves per test material on stem_lattice
# (src/simart/reporting/seed001.py: the curves table and the seed's prose checked;
# src/simart/figures/seed001.py: the figure, drawn from that table only).


def seed001_cells():
    """The stem_lattice cells (every CDN level x model; none when the dataset is off)."""
    if "stem_lattice" not in VIEWS:
        return []
    return [f"{R}/metrics/stem_lattice/{s}/{m}.parquet"
            for s in VIEWS["stem_lattice"].eval_subsets for m in cell_models("stem_lattice")]


def seed001_outputs():
    base = f"{R}/tables/seed001_noise_curves"
    return {"curves": f"{base}.csv", "md": f"{base}.md", "trends": f"{base}_trends.csv",
            "claims": f"{R}/tables/claims_vs_measured_seed001.csv"}


def seed001_context():
    """What was run, for the tables' header (from the config only)."""
    st = CFG.stem_lattice
    steps = {m: CFG.train.settings(m)["steps"] for m in cell_models("stem_lattice")
             if is_learned(m) and m in LEARNED_MODELS} if "stem_lattice" in VIEWS else {}
    return (f"Run: `stem_lattice` test split, {st.images_per_level.test} images per CDN "
            f"level ({', '.join(f'L{lv}' for lv in st.levels)}) of "
            f"{st.image_size or CFG.image_size}² px, test materials "
            f"{', '.join(st.materials.test) if st.materials else 'from the CIF folder'}; "
            f"training steps: {', '.join(f'{m} {n}' for m, n in sorted(steps.items())) or 'none'}"
            ". The seed trains PINNED on 5 images for 500 epochs.")


rule seed001_tables:
    """Seed 001: mean ± std of PSNR/SSIM/FSC/EPI per material x CDN level x model, the
    seed's prose statements checked, and its (empty) claims table."""
    input:
        lambda wc: seed001_cells(),
    output:
        **seed001_outputs(),
    log:
        f"{R}/logs/seed001_tables.log",
    benchmark:
        f"{R}/benchmarks/seed001_tables.tsv"
    params:
        code=code("fig_seed001_tables.py"),  # the library code it runs
        context=seed001_context() if "stem_lattice" in VIEWS else "",
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed001_tables.py"


rule seed001_noise_curves:
    """Seed 001 Figs. 3/5 analogue: metric vs CDN level, one panel per metric x material."""
    input:
        seed001_outputs()["curves"],
    output:
        [report(f"{R}/figures/seed001_noise_curves.{ext}",
                caption="../report/fig_seed001_noise_curves.rst", category="Seed 001",
                subcategory="Noise-level curves") for ext in CFG.figures.formats],
    log:
        f"{R}/logs/seed001_noise_curves.log",
    benchmark:
        f"{R}/benchmarks/seed001_noise_curves.tsv"
    params:
        code=code("fig_seed001_noise_curves.py"),  # the library code it runs
        dpi=CFG.figures.dpi,
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig_seed001_noise_curves.py"


if seed001_cells():
    FIGURE_TARGETS.extend(seed001_outputs().values())
    FIGURE_TARGETS.extend(f"{R}/figures/seed001_noise_curves.{ext}"
                          for ext in CFG.figures.formats)
