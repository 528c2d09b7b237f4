# SIMART's difficulty, measured (docs/dataset.md): per modality the input's
# PSNR / SSIM, the oracle bound and the severity of a sample of images of every split. The
# calibration figure is the figure spec calibration_figure (simart.specs.figures; its rule
# in rules/figures.smk).


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
