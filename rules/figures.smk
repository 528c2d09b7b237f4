rule fig1_artifacts:
    """Seed 000 Fig. 1: clean / degraded / restored per modality (first test shard)."""
    input:
        flat_paths(fig1_inputs()),
    output:
        expand(f"{R}/figures/fig1_artifacts.{{ext}}", ext=CFG.figures.formats),
    log:
        f"{R}/logs/fig1_artifacts.log",
    benchmark:
        f"{R}/benchmarks/fig1_artifacts.tsv"
    params:
        code=code("fig1_artifacts.py"),  # the library code it runs
        figures=cfg_part("figures")["figures"],
        paths=fig1_inputs(),
        models=fig1_models(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/fig1_artifacts.py"


def seed003_context():
    """What was run, for the caption of seed 003's tables (from the config only)."""
    st = CFG.stm_cu111
    size = st.image_size or CFG.image_size
    steps = {m: CFG.train.settings(m)["steps"] for m in cell_models("stm_cu111")
             if is_learned(m) and m in LEARNED_MODELS}
    steps_s = ", ".join(f"{m} {n}" for m, n in sorted(steps.items()))
    from simart.models.hparams import resolve_hparams
    from simart.models.hparams_gan import degradation_noise

    noisy = {}  # amplitudes -> models (one group when all rows use the same)
    for m in sorted(steps):
        amp = degradation_noise(resolve_hparams(m, CFG.train.hparams(m, "stm_cu111")))
        if amp:
            noisy.setdefault(", ".join(f"{k} {v:g}" for k, v in amp.items()), []).append(m)
    noise_s = "".join(
        f" NOT as in the seed: the degradation generator (G_B, CycleGAN's F) of "
        f"{', '.join(f'`{m}`' for m in models)} adds random STM scan noise to its output in "
        f"training ({amps}; `simart/models/hparams_gan.py`, \"Stochastic degradation "
        "generator\": without it none of the unpaired rows beat the blurry input in the "
        "embedded run)." for amps, models in noisy.items())
    return (f"Run: `stm_cu111` test split, {st.images_per_domain.test} images per domain of "
            f"{size}² px ({st.images_per_domain.train} training maps per domain); training "
            f"steps: {steps_s or 'none'}. The seed trains on its own simulated set and "
            "applies the result to lab images; the scale differs, so compare directions and "
            f"orderings before absolute values.{noise_s}")


rule seed003_tables:
    """Seed 003 Tables I and II (stm_cu111 blurry / experimental) beside the seed's claims,
    with a step-by-step check of the seed's ablation ordering."""
    input:
        seed003_cells(),
    output:
        **seed003_outputs(),
    log:
        f"{R}/logs/seed003_tables.log",
    benchmark:
        f"{R}/benchmarks/seed003_tables.tsv"
    params:
        code=code("seed003_tables.py"),  # the library code it runs
        data_range=CFG.evaluate.data_range,
        context=seed003_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed003_tables.py"


def seed004_context():
    """What was run, for the caption of seed 004's tables (from the config only)."""
    from simart.models.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

    lm = CFG.lm
    preset = PAPER_HPARAMS if CFG.train.hparams_preset == "paper" else DEFAULT_HPARAMS
    hp = {**preset["cond_ddpm"], **CFG.train.hparams("cond_ddpm")}
    return (f"Run: `cond_ddpm` on the `lm` test split ({lm.images_per_mode.test} images per "
            f"mode, {lm.image_size or CFG.image_size}² px), "
            f"{CFG.train.settings('cond_ddpm')['steps']} training steps; sampling: "
            f"{hp['sampler'].upper()} with {hp['steps']} steps, N = {hp['n_samples']} samples "
            "averaged (the seed: DDPM over T = 200, N = 15).")


rule seed004_tables:
    """Seed 004: DDPM-avg vs a single sample and vs N, uncertainty on edges vs flat."""
    input:
        lambda wc: flat_paths(seed004_inputs()),
    output:
        **seed004_outputs(),
    log:
        f"{R}/logs/seed004_tables.log",
    benchmark:
        f"{R}/benchmarks/seed004_tables.tsv"
    params:
        code=code("seed004_tables.py"),  # the library code it runs
        paths=seed004_inputs(),
        data_range=CFG.evaluate.data_range,
        context=seed004_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed004_tables.py"


def reproduction_context():
    """What was run, for the reproduction report's header (config; hardware is read from
    the trainings' summary.json files by the script)."""
    return (f"Config: image size {CFG.image_size}² px, hyper-parameter preset "
            f"`{CFG.train.hparams_preset}`, default training steps "
            f"{CFG.train.defaults.steps}; SIMART test images per modality: "
            f"{CFG.simart.images_per_modality.test}; datasets {list(VIEWS)}.")


rule reproduction_report:
    """Every claimed number of the seeds beside our measurement (Markdown + CSV)."""
    input:
        parts=lambda wc: claims_parts(),
        summaries=lambda wc: [p.replace("best.pt", "summary.json") for p in all_trained()],
    output:
        **reproduction_outputs(),
    log:
        f"{R}/logs/reproduction_report.log",
    benchmark:
        f"{R}/benchmarks/reproduction_report.tsv"
    params:
        code=code("reproduction_report.py"),  # the library code it runs
        context=reproduction_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/reproduction_report.py"


rule figures:
    """Regenerate tables and figures from the results (nothing upstream if up to date)."""
    input:
        lambda wc: figure_targets(),
