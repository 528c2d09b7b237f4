"""Helper of tests/test_predict_resume.py: run workflow_scripts/predict_shard.py (the rule's
script, as Snakemake runs it) on the test inputs in ``ROOT``; with ``READY K``: touch
``READY`` while batch K runs and wait there (up to 60 s) for a stop signal.

Usage: python tests/predict_worker.py ROOT [READY K]
"""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).parent))

from test_predict_resume import KWARGS, SUBSETS

SCRIPT = Path(__file__).resolve().parents[1] / "workflow_scripts" / "predict_shard.py"


def wait_in_batch(ready: Path, k: int) -> None:
    from simart.evaluation import learned
    from simart.train.distributed import stop_requested

    real, count = learned._Predictor.predict, [0]

    def predict(run, b0, n, gen):
        count[0] += 1
        if count[0] == k:
            ready.touch()
            deadline = time.monotonic() + 60
            while stop_requested() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        return real(run, b0, n, gen)

    learned._Predictor.predict = predict


def main(root: Path) -> None:
    torch.set_num_threads(1)
    smk = SimpleNamespace(
        log=[str(root / "predict.log")],
        wildcards=SimpleNamespace(dataset="lm", model="cond_ddpm", shard="0000"),
        params=SimpleNamespace(subsets=list(SUBSETS), model_kwargs=KWARGS, seed=3),
        input={**{s: str(root / f"{s}.h5") for s in SUBSETS},
               **{f"weights_{s}": str(root / "best.pt") for s in SUBSETS}},
        output=SimpleNamespace(pred=str(root / "0000.h5"), table=str(root / "0000.parquet")),
        config={},
    )
    runpy.run_path(str(SCRIPT), init_globals={"snakemake": smk}, run_name="__main__")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        wait_in_batch(Path(sys.argv[2]), int(sys.argv[3]))
    main(Path(sys.argv[1]))
