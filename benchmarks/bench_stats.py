"""Peak memory and time of rule ``stats`` (:func:`simart.stats.write_stats`) on synthetic cell
tables shaped like the paper's, against the version of simart/stats.py in git's HEAD.

    python benchmarks/bench_stats.py                         # 2.8 M rows (112 cells x 25,000)
    python benchmarks/bench_stats.py --images 2000 --models 7 --metrics 4   # quick

Cells: ``--modalities`` x ``--models`` tables of ``--images`` rows with the columns a real
cell carries (the shard's parameter table: strings, a 64-hex fingerprint, ten float
parameters; status, reasons, seconds; every metric and its ``<metric>_reason``), values
random but seeded. Each implementation runs in its own process (``resource.getrusage``
peak RSS of that process, minus the RSS after imports) on ``--stat-metrics`` metrics with
``--n-bootstrap`` resamples; the outputs of both are compared (identical: printed).
Prints MB per 1,000 rows read and seconds per (row x metric x resample), the figures
behind :func:`simart.workflow.resources.stats_job`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PAPER_METRICS = ["psnr", "ssim", "ms_ssim", "lpips", "mae", "mse", "nrmse_range",
                 "nrmse_euclidean", "nrmse_mean", "pearson", "epi_corr", "epi_ratio",
                 "frc_res_px", "frc_res_nm", "fsc", "pss", "pss_input", "piqe", "brisque"]


def write_cells(root: Path, modalities: int, models: int, images: int, metrics: int
                ) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for m in range(modalities):
        for k in range(models):
            n = images
            ok = rng.random(n) > 0.01
            df = pd.DataFrame({
                "image_index": np.arange(n), "modality": f"MOD{m}", "split": "test",
                "shard": np.arange(n) // 1000, "source_id": rng.integers(0, 10**5, n),
                "source_origin": rng.choice(["cif", "procedural", "user"], n),
                "source_name": [f"source_{i % 5000:05d}" for i in range(n)],
                **{f"param_{j}": rng.random(n) for j in range(10)},
                "dataset": "simart", "model": f"model_{k:02d}",
                "status": np.where(ok, "ok", "missing"),
                "missing_reason": np.where(ok, "", "restoration failed: synthetic"),
                "seconds": rng.random(n),
                "shard_fingerprint": "ab" * 32, "weights_sha256": "cd" * 32 if k else "",
            })
            for j, name in enumerate(PAPER_METRICS[:metrics]):
                v = rng.normal(20 + k * 0.01 * j, 3, n)
                v[~ok] = np.nan
                df[name] = v
                df[f"{name}_reason"] = np.where(ok, "", "model missing")
            path = root / f"cell_{m}_{k}.parquet"
            df.to_parquet(path, index=False)
            paths.append(str(path))
    return paths


CHILD = r"""
import json, resource, sys, time, importlib.util
spec = importlib.util.spec_from_file_location("stats_impl", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
import simart.metrics  # noqa: F401  (what write_stats imports)
a = json.loads(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.process_time()
mod.write_stats(a["cells"], a["metrics"], a["out"], reference="model_00",
                n_bootstrap=a["n_boot"], seed=0)
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "base_kb": base, "cpu_s": time.process_time() - t0}))
"""


def run(impl: Path, cells: list[str], metrics: list[str], n_boot: int, out: Path) -> dict:
    out.mkdir()
    outs = {k: str(out / f"{k}.{k.split('_')[-1]}") for k in
            ("csv", "parquet", "descriptive_csv", "descriptive_parquet")}
    outs["md"] = str(out / "md.md")
    args = json.dumps({"cells": cells, "metrics": metrics, "n_boot": n_boot, "out": outs})
    res = subprocess.run([sys.executable, "-c", CHILD, str(impl), args], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "out": outs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modalities", type=int, default=4)
    ap.add_argument("--models", type=int, default=28)
    ap.add_argument("--images", type=int, default=25000)
    ap.add_argument("--metrics", type=int, default=19, help="metric columns in the cells")
    ap.add_argument("--stat-metrics", type=int, default=2, help="metrics stats computes")
    ap.add_argument("--n-bootstrap", type=int, default=20)
    ap.add_argument("--only-after", action="store_true",
                    help="measure the current code only (no comparison with HEAD)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        cells = write_cells(root, a.modalities, a.models, a.images, a.metrics)
        rows = a.modalities * a.models * a.images
        print(f"{len(cells)} cells, {rows:,} rows, {a.metrics} metric columns "
              f"(written in {time.perf_counter() - t0:.0f} s)")
        old = root / "stats_head.py"
        old.write_text(subprocess.run(["git", "show", "HEAD:src/simart/stats.py"], cwd=ROOT,
                                      check=True, capture_output=True, text=True).stdout)
        metrics = PAPER_METRICS[:a.stat_metrics]
        res = {}
        impls = [("before", old)] * (not a.only_after) + [("after", ROOT / "src/simart/stats.py")]
        for name, impl in impls:
            res[name] = r = run(impl, cells, metrics, a.n_bootstrap, root / name)
            peak = r["peak_kb"] / 2**10
            extra = (r["peak_kb"] - r["base_kb"]) / 2**10
            print(f"{name}: peak RSS {peak:,.0f} MiB ({extra:,.0f} MiB above the imports) = "
                  f"{1000 * extra / rows:.2f} MiB per 1,000 rows; CPU {r['cpu_s']:.1f} s = "
                  f"{r['cpu_s'] / (rows * len(metrics) * a.n_bootstrap):.3g} s per row x "
                  f"metric x resample")
        if a.only_after:
            return
        same = all(pd.read_parquet(res["before"]["out"][k]).equals(
            pd.read_parquet(res["after"]["out"][k])) for k in ("parquet", "descriptive_parquet"))
        same &= all(Path(res["before"]["out"][k]).read_bytes()
                    == Path(res["after"]["out"][k]).read_bytes() for k in ("csv", "md"))
        print(f"outputs identical: {same}")


if __name__ == "__main__":
    main()
