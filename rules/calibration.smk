# SIMART's difficulty, measured (README "SIMART's difficulty"): per modality the input's
# PSNR / SSIM, the oracle bound and the severity of a sample of test images.


rule calibration_table:
    """Input vs oracle PSNR/SSIM and severity of up to simart.calibration_images images
    per modality, evenly over the splits (a table per image and a summary)."""
    input:
        shard_outputs(all_shards()),
    output:
        csv=f"{R}/tables/simart_calibration.csv",
        md=f"{R}/tables/simart_calibration.md",
    log:
        f"{R}/logs/calibration_table.log",
    benchmark:
        f"{R}/benchmarks/calibration_table.tsv"
    params:
        code=code("calibration_table.py"),  # the library code it runs
        shards={m: [f"{R}/simart/shards/{m}/{s}/{i}.h5" for s in SPLITS for i in shard_ids(s)]
                for m in MODALITIES},
        n_max=CFG.simart.calibration_images,
        data_range=CFG.evaluate.data_range,
        context=(f"Run: preset `{CFG.simart.param_preset}`, {CFG.image_size}² px, "
                 f"at most {CFG.simart.calibration_images} images per modality."),
    threads: 1
    resources:
        **small_job(mem_mb=4000, runtime=120),
    script:
        "../workflow_scripts/calibration_table.py"


rule calibration_figure:
    """The calibration figure: input vs oracle PSNR, oracle gain vs severity."""
    input:
        f"{R}/tables/simart_calibration.csv",
    output:
        [report(f"{R}/figures/simart_calibration.{ext}", caption="../report/simart_calibration.rst",
                category="SIMART", subcategory="Calibration") for ext in CFG.figures.formats],
    log:
        f"{R}/logs/calibration_figure.log",
    benchmark:
        f"{R}/benchmarks/calibration_figure.tsv"
    params:
        code=code("calibration_figure.py"),  # the library code it runs
        dpi=CFG.figures.dpi,
        title=(f"SIMART calibration ({CFG.simart.param_preset}, {CFG.image_size}² px): "
               "input vs oracle bound, and gain vs severity"),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/calibration_figure.py"


FIGURE_TARGETS.extend([f"{R}/tables/simart_calibration.md",
                       *(f"{R}/figures/simart_calibration.{e}" for e in CFG.figures.formats)])
