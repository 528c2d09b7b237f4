"""Helper of tests/test_train_loop.py: train the test problem in ``out_dir`` and SIGKILL
this process right after step ``kill_at`` (a hard kill: no cleanup, no flush).

Usage: python tests/train_worker.py OUT_DIR KILL_AT
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_train_loop import run


def main(out_dir: str, kill_at: int) -> None:
    def callback(step: int) -> None:
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    run(Path(out_dir), callback=callback)
    raise SystemExit("not killed: kill_at is past the last step")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
