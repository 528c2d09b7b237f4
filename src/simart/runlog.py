"""Logging set-up for workflow scripts: to the rule's log file and to stderr."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path


def setup(log_path: str | os.PathLike | None, name: str = "simart") -> logging.Logger:
    """Configure the root logger to write to ``log_path`` (created) and stderr.

    Called by a workflow script once its imports are done: it also ends
    :mod:`simart.jobstart`'s collection-free loading (the loaded objects frozen, garbage
    collection on). Uncaught exceptions are logged too, so a failed job's log names what
    went wrong.
    Progress bars of :mod:`simart.progress` are off in workflow jobs (``TQDM_DISABLE=1``
    unless set): parallel jobs share one terminal; their progress goes to the log as lines
    (every ``SIMART_PROGRESS_SECONDS``, default 30 s).
    """
    # the script's imports are done: what they loaded frozen (never scanned again, nor at
    # exit), garbage collection on again (simart.jobstart turned it off for the imports)
    gc.freeze()
    gc.enable()
    os.environ.setdefault("TQDM_DISABLE", "1")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger = logging.getLogger(name)

    def _log_uncaught(exc_type, exc, tb):
        logger.error("job failed: %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = _log_uncaught
    return logger
