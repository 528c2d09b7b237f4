"""The Snakemake workflow on a tiny config: end to end, up to date, bad inputs stop cleanly."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run(workdir: Path, *args: str, check: bool = True, tiny: bool = True
        ) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` (its config.yaml, plus the tiny overrides if asked)."""
    extra = ["--configfile", str(ROOT / "tests/data/tiny.yaml")] if tiny else []
    cmd = [SNAKEMAKE, *args, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *extra]  # --configfile takes several values: keep it last
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    wd = tmp_path_factory.mktemp("wf")
    shutil.copy(ROOT / "config.yaml", wd / "config.yaml")
    run(wd)
    return wd


def test_pipeline_produces_cells_table_and_figure(finished):
    r = finished / "results"
    cell = pd.read_parquet(r / "metrics/simart/SEM/wiener.parquet")
    assert len(cell) == 3 and (cell["status"] == "ok").all()
    assert np.isfinite(cell["psnr"]).all() and {"sigma_b_nm", "ssim"} <= set(cell.columns)
    afm = pd.read_parquet(r / "metrics/simart/AFM/wiener.parquet")
    assert (afm["status"] == "missing").all() and afm["psnr"].isna().all()
    summary = pd.read_csv(r / "tables/simart_metrics.csv")
    assert len(summary) == 2 * 3
    assert "missing" in (r / "tables/simart_metrics.md").read_text()
    assert (r / "figures/fig1_artifacts.png").stat().st_size > 10_000
    assert len(list((r / "benchmarks").rglob("*.tsv"))) >= 10


def test_rerun_has_nothing_to_do(finished):
    assert "Nothing to be done" in run(finished, "-n").stdout


def test_scoring_in_the_prediction_job_equals_a_score_job_of_its_own(finished, tmp_path):
    """The embedded default (evaluate.score_in_prediction_job) scores each shard in its
    prediction job; the presets run score_shard. Both write the same table."""
    r = finished / "results"
    assert not (r / "logs/score").exists()
    assert " metrics in " in (r / "logs/predict/simart_wiener_0000.log").read_text()
    wd = tmp_path / "wd"
    shutil.copytree(finished, wd, ignore=shutil.ignore_patterns("real*"))
    target = "results/metrics_shards/simart/wiener/0000.parquet"
    off = ("--config", "evaluate={score_in_prediction_job: false}")
    plan = run(wd, target, "-n", "--quiet", "rules", *off).stdout
    assert "score_shard" in plan  # (and the prediction: its params lost the scoring's)
    run(wd, target, *off)
    assert " metrics in " in (wd / "results/logs/score/simart_wiener_0000.log").read_text()
    own, merged = (pd.read_parquet(d / target) for d in (wd, finished))
    timing = [c for c in own.columns if "seconds" in c]  # the restoration's time: measured
    assert timing and len(own) == 4  # its shard of SEM and of AFM, 2 images each
    pd.testing.assert_frame_equal(own.drop(columns=timing), merged.drop(columns=timing))


def test_unknown_config_key_stops_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text("image_size: 32\nimage_sise: 3\n")
    proc = run(tmp_path, "-n", check=False, tiny=False)
    assert proc.returncode != 0
    assert "unknown config key 'image_sise'" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_out_of_range_value_stops_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text("image_size: 8\n")
    proc = run(tmp_path, check=False, tiny=False)
    assert proc.returncode != 0
    assert "image_size" in proc.stderr and "greater than or equal to 16" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_empty_user_folder_stops_before_any_job(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "config.yaml").write_text(f"sources:\n  user_dir: {tmp_path / 'imgs'}\n")
    proc = run(tmp_path, check=False, tiny=False)
    assert proc.returncode != 0 and "imgs" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_unreadable_user_image_is_named_and_leaves_no_catalog(tmp_path):
    from PIL import Image

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(imgs / f"ok{i}.png")
    (imgs / "broken.tif").write_bytes(b"not a tiff at all")
    (tmp_path / "config.yaml").write_text(f"sources:\n  user_dir: {imgs}\n")
    proc = run(tmp_path, "results/simart/sources.parquet", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/source_catalog.log").read_text()
    assert "broken.tif" in log
    assert not (tmp_path / "results/simart/sources.parquet").exists()
    assert not list((tmp_path / "results/simart").glob("*.tmp*"))


SEM = {"sigma_b_nm": 2.0, "charging_strength": 0.2, "sigma_c_fov": 0.8, "pixel_size_nm": 1.3,
       "gaussian_sigma": 0.04, "poisson_counts": 50000.0}


@pytest.fixture(scope="module")
def real_run(finished):
    """The real-data stage on the finished tiny run: two simulated SEM images with their
    operator, one without."""
    import yaml

    from simart.realdata import write_tiff
    from simart.simulate.simart_dataset import degrade
    from simart.simulate.sources import skimage_image

    d = finished / "real_in"
    d.mkdir()
    clean = np.stack([skimage_image(k, 40) for k in ("camera", "coins")])
    rows = [{**SEM, "noise_seed": k} for k in range(2)]
    for i, y in enumerate(degrade(clean, "SEM", rows)):
        write_tiff(d / f"sem_{i}.tif", 100 * y, 1.3)
    sets = {"known": {"dataset": "simart", "subset": "SEM", "paths": [str(d / "sem_*.tif")],
                      "operator": SEM},
            "unknown": {"dataset": "simart", "subset": "SEM", "paths": [str(d / "sem_0.tif")],
                        "models": ["wiener"]}}
    (finished / "real.yaml").write_text(yaml.safe_dump({"real_data": {"sets": sets}}))
    run(finished, "real", "--configfile", str(ROOT / "tests/data/tiny.yaml"),
        str(finished / "real.yaml"), tiny=False)
    return finished


def test_real_stage_tables_tiffs_and_figures(real_run):
    r = real_run / "results"
    rows = pd.read_csv(r / "tables/real_noref_images.csv")
    assert len(rows) == 2 * 3 + 2  # known: noisy, wiener, bm3d; unknown: noisy (always), wiener
    known = rows[rows["set"] == "known"]
    assert (known["status"] == "ok").all() and known["piqe"].notna().all()
    unknown = rows[(rows["set"] == "unknown") & (rows["model"] == "wiener")]
    assert (unknown["status"] == "missing").all()
    assert "real_data.sets.<name>.operator" in unknown["missing_reason"].iloc[0]
    wiener = known[known["model"] == "wiener"]
    assert (wiener["noise_sigma"] < wiener["noise_sigma_input"]).all()
    assert (r / "real/known/bm3d/sem_1.tif").stat().st_size > 40 * 40 * 4
    assert "not reproduced" in (r / "tables/real_noref.md").read_text()
    for s in ("known", "unknown"):
        assert (r / f"figures/real_{s}.png").stat().st_size > 5_000


def test_real_one_image_one_model_rebuilds_nothing_else(real_run):
    target = real_run / "results/real/known/wiener/sem_0.tif"
    target.unlink()
    args = ("--configfile", str(ROOT / "tests/data/tiny.yaml"), str(real_run / "real.yaml"))
    proc = run(real_run, "-n", str(target.relative_to(real_run)), *args, tiny=False)
    assert "real_restore_cpu        1" in proc.stdout.replace("\t", " ") or \
        "real_restore_cpu 1" in " ".join(proc.stdout.split())
    assert "total 1" in " ".join(proc.stdout.split())


@pytest.mark.bad_input
def test_real_set_with_bad_operator_stops_before_any_job(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"x")
    (tmp_path / "config.yaml").write_text(
        "real_data:\n  sets:\n    s:\n      dataset: simart\n      subset: SEM\n"
        f"      paths: [{tmp_path / 'a.tif'}]\n      operator: {{sigma_b_nm: 2}}\n")
    proc = run(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "real_data.sets.s.operator" in proc.stderr and "charging_strength" in proc.stderr
    assert not (tmp_path / "results").exists()
