"""What a config will cost, before you spend it: GPU-hours, CPU core-hours, storage.

    python -m simart.plan_cost --configfile configs/paper.yaml [--gpu H100|A100|RTX4090]
        [--efficiency 0.35] [--json out.json] [--no-measure]

Reads the config as the workflow does with ``--replace-workflow-config`` (the file alone,
validated; the schema's defaults fill the rest), enumerates every job of its plan and prints
per rule family and per study the jobs, GPU-hours on the named GPU at ``efficiency`` of its
bf16 dense peak, CPU core-hours and storage (method: :mod:`simart.workflow.cost`). The CPU
rates are measured now on a few small images (``--no-measure``: the stated constants of
``simart.workflow.cost.STATED_RATES``; ``--measure-only`` prints a fresh measurement in
that form). Exit status 2 with a message naming the bad value on a bad config, GPU or
efficiency.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from simart.specs.hardware import GPUS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simart.plan_cost",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--configfile", default="config.yaml",
                   help="config file, read alone (a complete preset); default config.yaml")
    p.add_argument("--gpu", default="H100", help=f"one of {sorted(GPUS)} (default H100)")
    p.add_argument("--efficiency", type=float, default=0.35,
                   help="fraction of the GPU's bf16 dense peak sustained (default 0.35)")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.add_argument("--no-measure", action="store_true",
                   help="use the stated CPU rates instead of measuring them now")
    p.add_argument("--flop-cache", default=None,
                   help="JSON file of FLOP counts kept between runs (default: the one shipped "
                        "in simart/workflow/; '' = none)")
    p.add_argument("--measure-only", action="store_true",
                   help="only measure the CPU rates and print them as STATED_RATES")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 on success, 2 on a bad argument or config."""
    args = _parser().parse_args(argv)
    from simart.workflow.cost import FLOP_CACHE

    if args.flop_cache is None:
        args.flop_cache = FLOP_CACHE
    logging.disable(logging.WARNING)  # models warn about missing VGG weights etc.
    from simart.specs.hardware import gpu
    from simart.workflow import cost

    try:
        card = gpu(args.gpu)
        if not 0 < args.efficiency <= 1:
            raise ValueError(f"--efficiency {args.efficiency} must be in (0, 1]")
        cfg = cost.load_config(args.configfile)
    except (ValueError, cost.ConfigError) as exc:
        sys.stderr.write(f"plan_cost: {exc}\n")
        return 2
    t0 = time.perf_counter()
    rates = cost.stated_rates() if args.no_measure else cost.measure_cpu_rates(cfg)
    if args.measure_only:
        print("STATED_RATES: dict[str, Rate] = {")
        for k, v in rates.rates.items():
            print(f'    "{k}": Rate({v.job_s:.3g}, {v.image_s:.3g}, {v.px_s:.3g}),')
        print("}")
        return 0
    counter = cost.FlopCounter(cfg, cache_path=args.flop_cache or None)
    lines = cost.project(cfg, counter, rates)
    try:
        counter.save()
    except OSError as exc:  # a read-only install: the counts are only not kept
        sys.stderr.write(f"plan_cost: FLOP counts not kept in {args.flop_cache}: {exc}\n")
    summary = cost.summarise(lines, card, args.efficiency, rates.source)
    print(cost.format_summary(summary, args.configfile))
    print(f"\n(projected in {time.perf_counter() - t0:.0f} s)")
    if args.json:
        cost.write_json(summary, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
