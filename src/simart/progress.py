"""Progress of long jobs: a log line every so often and, on a terminal, a tqdm bar.

A shard simulation, a prediction (a BM3D shard can take 17 hours, a 1000-step diffusion
sampler minutes per batch) or a scoring job reports where it is with one
:class:`ProgressReporter`: every ``interval`` seconds (default 30, environment variable
``SIMART_PROGRESS_SECONDS``) and once at the end it logs a line such as ::

    predict bm3d simart/SEM: 120/500 images (24 %), 3.2 images/s, ETA 0:01:58

(the rate is over the images done by this run, so a resumed job's rate is not inflated by
the images it found done). The line goes to the job's log (:func:`simart.runlog.setup`);
when stderr is a terminal a tqdm bar is drawn there too, and log lines are written around
it (``TQDM_DISABLE=1`` turns the bars off, e.g. for parallel jobs sharing one terminal).
Nothing else is written: a job without a terminal gets its log lines only.

The reporter reads a clock and writes log lines, nothing else: it draws no random numbers
and changes no computation, so a run's results are the same bit for bit with or without
it (tested for the diffusion samplers, which report their steps).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Self

from tqdm import tqdm

__all__ = ["DEFAULT_INTERVAL_S", "INTERVAL_ENV", "ProgressReporter", "default_interval"]

DEFAULT_INTERVAL_S = 30.0
INTERVAL_ENV = "SIMART_PROGRESS_SECONDS"
_LOG = logging.getLogger(__name__)


def default_interval() -> float:
    """Seconds between progress lines: ``$SIMART_PROGRESS_SECONDS`` when set (0: a line at
    every update), else :data:`DEFAULT_INTERVAL_S`."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"environment variable {INTERVAL_ENV} = {raw!r}: allowed: a number "
                         "of seconds >= 0 (0: a progress line at every update)")
    return value


def _stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _hms(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def _rate(value: float) -> str:
    """A rate with 3 significant digits at most, never in exponent notation."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if value >= 1e-3 else f"{value:.2e}"


class ProgressReporter:
    """Progress of ``total`` work items (``unit``: ``images``, ``steps`` ...) of one job part.

    ``update(n)`` after each item or batch. A log line at ``level`` on ``logger`` (default
    ``simart.progress``) when ``interval`` seconds (default :func:`default_interval`) have
    passed since the last one, and when the count reaches ``total`` -- with
    ``always_end=False`` that last line only if an earlier one was logged (a sampler chain
    that took less than the interval logs nothing). ``initial``: items done before this run
    (a resumed job); the rate and ETA count this run's items only. ``bar``: a tqdm bar on
    stderr (None: only when stderr is a terminal). ``clock``: the time source (tests inject
    one). Use as a context manager, or call :meth:`close`: the bar is closed and a job that
    stops before the end logs where it stopped.
    """

    def __init__(self, total: int, unit: str = "images", label: str = "", *,
                 initial: int = 0, logger: logging.Logger | None = None,
                 interval: float | None = None, level: int = logging.INFO,
                 bar: bool | None = None, always_end: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        if total < 0 or not 0 <= initial <= max(total, 0):
            raise ValueError(f"progress {label!r}: total {total} and initial {initial}: "
                             "allowed: 0 <= initial <= total")
        self.total, self.unit, self.label = int(total), unit, label
        self.done = self.initial = int(initial)
        self.logger = logger or _LOG
        self.interval = default_interval() if interval is None else float(interval)
        self.level, self.always_end, self.clock = level, always_end, clock
        self.start = self.last = clock()
        self.logged_done: int | None = None  # the count of the last line logged
        self.closed = False
        show = _stderr_is_terminal() if bar is None else bar
        self.bar = (tqdm(total=self.total, initial=self.initial, desc=label or None,
                         unit=unit.removesuffix("s") or unit, file=sys.stderr,
                         dynamic_ncols=True, leave=False) if show else None)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def update(self, n: int = 1) -> None:
        """``n`` more items done: the bar moves; a line is logged when one is due."""
        self.done += int(n)
        if self.bar is not None:
            self.bar.update(int(n))
        if not self.logger.isEnabledFor(self.level):
            return
        now = self.clock()
        if self.finished:
            if self.always_end or self.logged_done is not None:
                self._log(now)
        elif now - self.last >= self.interval:
            self._log(now)

    def line(self, now: float | None = None) -> str:
        """The progress line at time ``now`` (default: the clock's)."""
        now = self.clock() if now is None else now
        elapsed = now - self.start
        session = self.done - self.initial
        pct = 100 * self.done // self.total if self.total else 100
        head = (f"{self.label}: " if self.label else "") + (
            f"{self.done}/{self.total} {self.unit} ({pct} %)")
        if session <= 0 or elapsed <= 0:
            return f"{head}, ? {self.unit}/s, ETA ?"
        rate = session / elapsed
        speed = f"{_rate(rate)} {self.unit}/s"
        if rate < 1:
            speed += f" ({_rate(1 / rate)} s/{self.unit.removesuffix('s') or self.unit})"
        if self.finished:
            return f"{head}, {speed}, done in {_hms(elapsed)}"
        return f"{head}, {speed}, ETA {_hms((self.total - self.done) / rate)}"

    def _log(self, now: float) -> None:
        self.last, self.logged_done = now, self.done
        with tqdm.external_write_mode(file=sys.stderr):  # around any bar on the terminal
            self.logger.log(self.level, "%s", self.line(now))

    def close(self) -> None:
        """Close the bar; log the count reached if it changed since the last line (a job
        stopped before the end says where)."""
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.close()
        stopped_early = not self.finished and self.done != (
            self.initial if self.logged_done is None else self.logged_done)
        if stopped_early and self.always_end and self.logger.isEnabledFor(self.level):
            self._log(self.clock())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
