#!/usr/bin/env python3
"""Compare the results of two clean runs of the same config: every shard, checkpoint,
prediction and table must have identical content (timing columns aside).

    python .ci/compare_runs.py RUN_A/results RUN_B/results [--partial]

* HDF5 files (shards, predictions) and checkpoints (best.pt): the same bytes (SHA-256);
* Parquet / CSV tables: the same frame after dropping timing columns (seconds, images/s,
  elapsed, memory, time stamps);
* every such file of one run exists in the other (``--partial``: RUN_B built part of what
  RUN_A built -- every file of RUN_B must be in RUN_A and be the same).
Logs, benchmarks, figures (PNG/PDF embed dates and fonts), summary.json and the working
folders of trainings are not compared. Prints the counts; exit 1 on any difference.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pandas as pd

SKIP_DIRS = {"logs", "benchmarks", "work"}
BYTES = {".h5", ".pt"}
TABLES = {".parquet", ".csv"}
# columns that measure time or memory, not results
TIMING = re.compile(r"(^|_)(seconds|elapsed|images_per_s|img_per_s|time|wall|s_per_image|"
                    r"days|hours|peak_mem|mem|memory|rss|cpu)(_|$)|^(s|h:m:s|max_rss|"
                    r"max_vms|max_uss|max_pss|io_in|io_out|mean_load|cpu_time)$", re.IGNORECASE)


def files(root: Path) -> dict[str, Path]:
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and not SKIP_DIRS & set(rel.parts[:-1]) and p.suffix in BYTES | TABLES:
            out[str(rel)] = p
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table(path: Path) -> pd.DataFrame:
    t = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if "metric" in t.columns and "measured" in t.columns:  # claims beside measurements:
        t = t[~t["metric"].astype(str).map(lambda m: bool(TIMING.search(m)))]  # cost rows
    return t.drop(columns=[c for c in t.columns if TIMING.search(str(c))]).reset_index(drop=True)


def main(a: Path, b: Path, partial: bool = False) -> int:
    fa, fb = files(a), files(b)
    problems = [] if partial else [f"only in {a}: {k}" for k in sorted(set(fa) - set(fb))]
    problems += [f"only in {b}: {k}" for k in sorted(set(fb) - set(fa))]
    same = 0
    for rel in sorted(set(fa) & set(fb)):
        pa, pb = fa[rel], fb[rel]
        if pa.suffix in BYTES:
            ok = sha(pa) == sha(pb)
        else:
            ta, tb = table(pa), table(pb)
            try:
                pd.testing.assert_frame_equal(ta, tb, check_exact=True)
                ok = True
            except AssertionError as exc:
                ok = False
                problems.append(f"differs: {rel}: {str(exc).splitlines()[0:3]}")
                continue
        if ok:
            same += 1
        else:
            problems.append(f"differs: {rel}")
    kinds = {}
    for rel in set(fa) & set(fb):
        kinds[Path(rel).suffix] = kinds.get(Path(rel).suffix, 0) + 1
    print(f"compared {len(set(fa) & set(fb))} files {dict(sorted(kinds.items()))}: "
          f"{same} identical, {len(problems)} problem(s)")
    for line in problems[:50]:
        print("  " + line)
    return 1 if problems or not same else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--partial"]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(args[0]), Path(args[1]), partial="--partial" in sys.argv[1:]))
