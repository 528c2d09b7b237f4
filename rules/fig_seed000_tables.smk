# Seed 000 Tables 2, 3, 4, 6 and the per-modality PSNR table beside the seed's claims
# (src/simart/reporting/seed000.py). Reads the simart cells of the rows it shows (models,
# cross-modal rows, sampling variants that change the cost: not the guidance sweep), the
# summary.json of the trained simart models and pcsd's log.csv.
from simart.reporting.seed000 import is_speed_variant  # noqa: E402


def seed000_tables_outputs():
    """Seed 000 tables by output name (names of simart.reporting.seed000.OUTPUTS)."""
    t = f"{R}/tables/seed000"
    out = {f"{n}_{k}": f"{t}_{n if n != 'psnr' else 'psnr_by_modality'}.{k}"
           for n in ("table2", "psnr", "table3", "table4", "table6") for k in ("md", "csv")}
    out["claims"] = f"{R}/tables/claims_vs_measured_seed000.csv"
    return out


def seed000_speed_variants():
    """{name: {model, sampling}} of the evaluated variants whose cost differs (Table 6)."""
    return {k: {"model": v.model, "sampling": dict(v.sampling)}
            for k, v in CFG.evaluate.active_variants().items()
            if is_speed_variant(v.sampling) and applies(k, "simart")}


def seed000_tables_paths():
    """{cells: {row: {modality: parquet}}, summaries: {model: {group: json}}, pcsd_log}."""
    if "simart" not in VIEWS:
        return {}
    v = VIEWS["simart"]
    variants = CFG.evaluate.active_variants()
    rows = [m for m in cell_models("simart")
            if m not in variants or m in seed000_speed_variants()]
    learned = [m for m in MODELS if is_learned(m) and applies(m, "simart")]
    out = {
        "cells": {m: {s: f"{R}/metrics/simart/{s}/{m}.parquet" for s in v.eval_subsets}
                  for m in rows},
        "summaries": {m: {g: f"{R}/models/simart/{g}/{m}/summary.json"
                          for g in v.groups_for(m)} for m in learned},
    }
    if "pcsd" in learned:
        out["pcsd_log"] = f"{R}/models/simart/{next(iter(v.groups_for('pcsd')))}/pcsd/log.csv"
    return out


def seed000_run():
    """What the config ran (simart.reporting.seed000.RunInfo), from the config only."""
    learned = [m for m in MODELS if is_learned(m) and applies(m, "simart")]
    return {
        "image_size": CFG.image_size,
        "preset": CFG.train.hparams_preset,
        "steps": {m: CFG.train.settings(m)["steps"] for m in learned},
        "test_images": CFG.simart.images_per_modality.test,
        "models": [m for m in MODELS if applies(m, "simart")],
        "variants": seed000_speed_variants(),
        "cross_modal": "pcsd" in CFG.evaluate.cross_modal and "pcsd" in MODELS,
        "modalities": list(VIEWS["simart"].eval_subsets) if "simart" in VIEWS else [],
    }


def seed000_context():
    """What was run, for the head of every seed 000 table (from the config only)."""
    run = seed000_run()
    steps = ", ".join(f"{m} {n}" for m, n in run["steps"].items()) or "none"
    shards = CFG.evaluate.study_test_shards
    return (f"Run: `simart` test split, {run['test_images']} images per modality of "
            f"{run['image_size']}² px, `{run['preset']}` architecture preset; training steps: "
            f"{steps}"
            + (f"; variants and cross-modal rows on the first {shards} test shard(s)"
               if shards else "")
            + ". The seed trains on SIMART-1M at its own image size for far longer: compare "
            "orderings and directions before absolute values.")


def _seed000_report(name, key):
    return report(seed000_tables_outputs()[key], caption=f"../report/seed000_{name}.rst",
                  category="Seed 000", subcategory="Tables")


rule seed000_tables:
    """Seed 000 Tables 2, 3, 4, 6 and per-modality PSNR from the simart cells, the trainings'
    summaries and pcsd's log, beside the seed's claims; claims_vs_measured_seed000.csv."""
    input:
        lambda wc: flat_paths(seed000_tables_paths()),
    output:
        table2_md=_seed000_report("table2", "table2_md"),
        table2_csv=seed000_tables_outputs()["table2_csv"],
        psnr_md=_seed000_report("psnr_by_modality", "psnr_md"),
        psnr_csv=seed000_tables_outputs()["psnr_csv"],
        table3_md=_seed000_report("table3", "table3_md"),
        table3_csv=seed000_tables_outputs()["table3_csv"],
        table4_md=_seed000_report("table4", "table4_md"),
        table4_csv=seed000_tables_outputs()["table4_csv"],
        table6_md=_seed000_report("table6", "table6_md"),
        table6_csv=seed000_tables_outputs()["table6_csv"],
        claims=seed000_tables_outputs()["claims"],
    log:
        f"{R}/logs/seed000_tables.log",
    benchmark:
        f"{R}/benchmarks/seed000_tables.tsv"
    params:
        code=code("seed000_tables.py"),  # the library code it runs
        paths=seed000_tables_paths(),
        run=seed000_run(),
        context=seed000_context(),
    resources:
        **small_job(mem_mb=2000, runtime=15),
    script:
        "../workflow_scripts/seed000_tables.py"


if "simart" in VIEWS:
    FIGURE_TARGETS.extend(seed000_tables_outputs().values())
