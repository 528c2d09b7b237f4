# SIMART's difficulty, measured (docs/dataset.md): per modality the input's
# PSNR / SSIM, the oracle bound and the severity of a sample of images of every split.


rule calibration_table:
    """Input vs oracle PSNR/SSIM and severity of up to simart.calibration_images images
    per modality, evenly over the splits (a table per image and a summary)."""
    input:
        shard_outputs(PLAN.all_shards()),
    output:
        csv=f"{R}/tables/simart_calibration.csv",
        md=f"{R}/tables/simart_calibration.md",
    log:
        f"{R}/logs/calibration_table.log",
    benchmark:
        f"{R}/benchmarks/calibration_table.tsv"
    params:
        code=code("calibration_table.py"),  # the library code it runs
        shards=PLAN.simart_shards_by_modality(),
        n_max=CFG.simart.calibration_images,
        data_range=CFG.evaluate.data_range,
        context=PLAN.calibration_context(),
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
        report_figure("simart_calibration", "simart_calibration", "SIMART", "Calibration"),
    log:
        f"{R}/logs/calibration_figure.log",
    benchmark:
        f"{R}/benchmarks/calibration_figure.tsv"
    params:
        code=code("calibration_figure.py"),  # the library code it runs
        dpi=CFG.figures.dpi,
        title=PLAN.calibration_title(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/calibration_figure.py"

