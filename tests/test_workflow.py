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
