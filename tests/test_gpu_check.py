"""benchmarks/gpu_check.py --cpu-smoke: every section runs at tiny sizes on the CPU and the
JSON beside the text output holds each section's figures (or the reason it was skipped)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("device", "data", "pcsd_train", "pcsd_sampling", "cond_ddpm_inference",
            "cnn_inference", "loader", "ddp")


def test_cpu_smoke_writes_every_section(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"),
                           "--cpu-smoke", "--out", str(tmp_path)], check=False,
                          capture_output=True,
                          text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    text = (tmp_path / "gpu_check.txt").read_text()
    for name in SECTIONS:
        r = results[name]
        assert "error" not in r, (name, r)
        assert f"[{name}]" in text
        assert r.get("skipped") or len(r) > 1, (name, r)
    train = results["pcsd_train"]
    assert train["flops_per_step"] > 0 and train["seconds_per_step"] > 0
    assert train["mfu"] is None and "CPU" in train["mfu_reason"]  # no CPU peak
    rows = results["pcsd_sampling"]["rows"]
    assert [r["steps"] for r in rows] == sorted((r["steps"] for r in rows), reverse=True)
    assert all(math.isfinite(r["psnr_db"]) and r["seconds_per_image"] > 0 for r in rows)
    assert results["loader"]["crops_per_second_per_worker"] > 0
    assert results["ddp"]["weights_equal_across_ranks"] is True
