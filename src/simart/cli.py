"""The ``simart`` command line: what people do outside a benchmark run.

``simart restore`` restores real images with one model (:func:`simart.realdata.restore_paths`,
the code of rule real_restore; docs/real_data.md).

``simart simulate`` builds one dataset's shards from a config without Snakemake. It runs
the library functions the workflow scripts of ``rules/sources.smk``, ``rules/simulate.smk``
and ``rules/datasets.smk`` run (``workflow_scripts/*_shard.py``, ``source_catalog.py``,
``lm_catalog.py``), each on the config sections its rule passes (``Plan.cfg_part``), with
one torch thread per job as the rules request, and writes the same files under ``--out``
as the rules write under ``results/``; which shards exist comes from
:class:`simart.workflow.plan.Plan`, so the command and the workflow agree.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its parser and
its handler (``set_defaults(func=...)``), listed in :data:`SUBCOMMANDS`. A handler returns
the exit status; it raises :class:`CommandError` for a refusal the user can fix (a config
error: status 2), which :func:`main` prints as one message, without a traceback.

Imports of the library happen inside the handlers, so ``simart --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

#: the datasets ``simart simulate`` builds (simart.workflow.plan.DATASET_NAMES, not imported
#: here so that ``--help`` stays fast)
DATASETS = ("simart", "stem_lattice", "stm_cu111", "lm")
SPLITS = ("train", "val", "test")  # simart.config.SPLITS


class CommandError(Exception):
    """A refusal the user can fix: printed as ``simart <command>: error: message``, exit
    ``status`` (2: a config or input error, as argparse's own usage errors)."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help with the description's line breaks kept (each option's help names its
    default)."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: an integer >= 1")
    return value


# ============================================================================ configs

def merge_config(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Update ``base`` with ``update`` in place, as Snakemake merges ``--configfile`` files
    (``snakemake.utils.update_config``): a mapping value is merged key by key into the
    mapping it replaces (an empty mapping therefore changes nothing), any other value
    replaces the old one. Returns ``base``."""
    for key, value in update.items():
        if isinstance(value, Mapping):
            old = base.get(key)
            base[key] = merge_config(dict(old) if isinstance(old, Mapping) else {}, value)
        else:
            base[key] = value
    return base


def load_config(configfiles: Sequence[str | os.PathLike] | None):
    """The validated config (:class:`simart.config.Config`) of ``configfiles`` merged in
    order (later files update earlier ones, :func:`merge_config`); without files,
    ``config.yaml`` of the current directory. Raises :class:`CommandError` (status 2)
    naming the file and line (YAML) or the config key (schema)."""
    from simart.config import ConfigError, load_yaml, validate_config

    files = list(configfiles or [])
    if not files:
        if not os.path.isfile("config.yaml"):
            raise CommandError(f"no --configfile given and no config.yaml in {os.getcwd()}: "
                               "give the config with --configfile FILE")
        files = ["config.yaml"]
    raw: dict[str, Any] = {}
    try:
        for f in files:
            merge_config(raw, load_yaml(f))
        return validate_config(raw)
    except ConfigError as err:
        where = files[0] if len(files) == 1 else " + ".join(map(str, files))
        raise CommandError(f"config error ({where}): {err}") from None


# ============================================================================ simulate

@dataclass(frozen=True)
class ShardJob:
    """One job of a shard rule: what the rule's script computes and the files it writes.

    ``group``: the modality / domain / mode (None for stem_lattice, whose job writes every
    CDN level of ``outs``); ``outs``: {level or group: .h5 path}; ``cfg_part``: the config
    sections the rule passes to its script; ``catalog``: the source catalog it reads."""

    dataset: str
    group: str | None
    split: str
    shard: int
    outs: dict[Any, str]
    cfg_part: dict[str, Any] = field(repr=False)
    catalog: str | None = None

    @property
    def label(self) -> str:
        if self.dataset == "stem_lattice":
            levels = ",".join(str(lv) for lv in self.outs)
            return f"stem_lattice L{{{levels}}}/{self.split}/{self.shard:04d}"
        return f"{self.dataset} {self.group}/{self.split}/{self.shard:04d}"


def run_shard_job(job: ShardJob) -> tuple[int, float]:
    """Run one shard job as its rule's script does (one torch thread, the config sections
    of the rule); return (images written, seconds). Top level: process pools pickle it."""
    import torch

    from simart.config import validate_config
    from simart.provenance import read_table

    if job.dataset == "simart":
        from simart.simulate.simart_dataset import build_shard

        def build(cfg):
            return len(build_shard(cfg, read_table(job.catalog), job.group, job.split,
                                   job.shard, job.outs[job.group]))
    elif job.dataset == "stem_lattice":
        from simart.simulate.stem_lattice import build_stem_lattice_shards

        def build(cfg):
            tables = build_stem_lattice_shards(cfg, job.split, job.shard, job.outs)
            return len(next(iter(tables.values()))) * len(tables)
    elif job.dataset == "stm_cu111":
        from simart.simulate.stm_cu111 import build_stm_shard

        def build(cfg):
            return len(build_stm_shard(cfg, job.group, job.split, job.shard,
                                       job.outs[job.group]))
    elif job.dataset == "lm":
        from simart.simulate.lm_dataset import build_lm_shard

        def build(cfg):
            return len(build_lm_shard(cfg, read_table(job.catalog), job.group, job.split,
                                      job.shard, job.outs[job.group]))
    else:
        raise ValueError(f"unknown dataset {job.dataset!r}; allowed: {list(DATASETS)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # `threads: 1` of every shard rule
    try:
        t0 = time.perf_counter()
        n = build(validate_config(job.cfg_part))
        return n, time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)


#: per dataset: (config section, rule of its shards, its images-per-split key, catalog rule)
_SECTIONS = {
    "simart": ("simart", "simulate_shard", "images_per_modality", "source_catalog"),
    "stem_lattice": ("stem_lattice", "stem_lattice_shard", "images_per_level", None),
    "stm_cu111": ("stm_cu111", "stm_cu111_shard", "images_per_domain", None),
    "lm": ("lm", "lm_shard", "images_per_mode", "lm_catalog"),
}


#: per dataset: the module of its shard builder (preloaded by the workers' fork server)
_BUILDERS = {"simart": "simart.simulate.simart_dataset",
             "stem_lattice": "simart.simulate.stem_lattice",
             "stm_cu111": "simart.simulate.stm_cu111", "lm": "simart.simulate.lm_dataset"}


def _shard_paths(plan, dataset: str) -> list[str]:
    return {"simart": plan.all_shards, "stem_lattice": plan.stem_lattice_shards,
            "stm_cu111": plan.stm_cu111_shards, "lm": plan.lm_shards}[dataset]()


def plan_jobs(cfg, root: str, dataset: str, splits: Sequence[str]) -> list[ShardJob]:
    """The shard jobs of ``dataset`` for ``splits``, in the plan's order (Plan's shard
    lists; a stem_lattice job writes every CDN level of one split and shard)."""
    from simart.workflow.plan import Plan

    plan = Plan(cfg, root)
    section = _SECTIONS[dataset][0]
    part = plan.cfg_part("seed", "image_size", section)
    catalog = f"{root}/{dataset}/sources.parquet" if _SECTIONS[dataset][3] else None
    jobs: dict[tuple, ShardJob] = {}
    for h5 in _shard_paths(plan, dataset):
        group, split, name = Path(h5).parts[-3:]
        if split not in splits:
            continue
        shard = int(Path(name).stem)
        if dataset == "stem_lattice":
            job = jobs.setdefault((split, shard), ShardJob(dataset, None, split, shard, {}, part))
            job.outs[int(group.removeprefix("L"))] = h5
        else:
            jobs[(group, split, shard)] = ShardJob(dataset, group, split, shard, {group: h5},
                                                   part, catalog)
    return list(jobs.values())


def _expected_images(cfg, dataset: str, split: str, shard: int) -> tuple[int, int, str]:
    """(images, image side, dtype) of one shard of the config."""
    sec = getattr(cfg, _SECTIONS[dataset][0])
    n = getattr(getattr(sec, _SECTIONS[dataset][2]), split)
    size = cfg.image_size if dataset == "simart" else (sec.image_size or cfg.image_size)
    return min(sec.shard_size, n - shard * sec.shard_size), size, sec.dtype


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a Python value (numpy scalars, bytes decoded)."""
    value = value.item() if hasattr(value, "item") else value
    return value.decode() if isinstance(value, bytes) else value


def shard_problem(h5: str, n: int, size: int, dtype: str, seed: int) -> str | None:
    """Why the shard ``h5`` (with its ``.parquet``) is not complete for the config, or None
    when it is: both files exist, the HDF5 content matches its fingerprint
    (:func:`simart.provenance.verify_shard`), its attributes give the config's seed, image
    count, size and dtype, and the table has a row per image."""
    import h5py
    import pyarrow.parquet as pq

    from simart.data.shards import parquet_path
    from simart.provenance import ShardCorrupt, verify_shard

    table = parquet_path(h5)
    missing = [str(p) for p in (Path(h5), table) if not p.exists()]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        verify_shard(h5)
    except ShardCorrupt as err:  # its hint is the Snakemake command; here: rebuilt anyway
        return str(err).split("; rebuild it:")[0].removeprefix(f"shard {h5}").lstrip(": ")
    with h5py.File(h5, "r") as f:
        have = {k: _plain(f.attrs.get(k)) for k in ("seed", "n_images", "image_size", "dtype")}
    want = {"seed": seed, "n_images": n, "image_size": size, "dtype": dtype}
    diff = [f"{k} {have[k]!r} (config: {want[k]!r})" for k in want if have[k] != want[k]]
    if diff:
        return f"written for another config: {', '.join(diff)}"
    try:
        rows = pq.read_metadata(table).num_rows
    except Exception as exc:  # noqa: BLE001 -- pyarrow raises ArrowInvalid, OSError ... unnamed
        return f"table {table} is unreadable ({type(exc).__name__}: {exc})"
    if rows != n:
        return f"table {table} has {rows} rows for {n} images"
    return None


def ensure_catalog(cfg, root: str, dataset: str, force: bool, say: Callable[[str], None]
                   ) -> bool:
    """Write the source catalog of ``dataset`` (simart, lm) as its rule does when it is
    missing, unreadable, different from the config's or ``force``; return whether it was
    written (the shards built from the old one are then stale)."""
    from simart.config import validate_config
    from simart.io import atomic_path
    from simart.provenance import TableCorrupt, read_table
    from simart.simulate.sources import verify_user_sources
    from simart.workflow.plan import Plan

    section = "sources" if dataset == "simart" else "lm"
    sub = validate_config(Plan(cfg, root).cfg_part("seed", "image_size", section))
    if dataset == "simart":  # workflow_scripts/source_catalog.py
        from simart.simulate.sources import build_catalog

        src = sub.sources
        catalog = build_catalog(
            src.n_sources, sub.seed, procedural_kinds=src.procedural_kinds,
            use_skimage=src.use_skimage, user_dir=src.user_dir,
            split_fractions=tuple(src.split_fractions))
        size = sub.image_size
    else:  # workflow_scripts/lm_catalog.py
        from simart.simulate.lm_dataset import lm_catalog

        catalog = lm_catalog(sub)
        size = sub.lm.image_size or sub.image_size
    path = f"{root}/{dataset}/sources.parquet"
    if os.path.exists(path) and not force:
        try:
            old = read_table(path)
        except TableCorrupt as err:
            say(f"rewriting {path}: {err}")
        else:
            if old.equals(catalog):
                return False
            say(f"rewriting {path}: it differs from the config's catalog (the shards of "
                "the splits selected here are rebuilt; rebuild the others too)")
    verify_user_sources(catalog, size)
    with atomic_path(path) as tmp:
        catalog.to_parquet(tmp, index=False)
    say(f"wrote {path}: {len(catalog)} sources, splits "
        f"{catalog['split'].value_counts().to_dict()}")
    return True


def _source_error(cfg, dataset: str) -> str | None:
    """:func:`simart.workflow.checks.first_source_error` for the input files ``dataset``
    reads (the other physics datasets' CIF and user folders are not checked)."""
    from simart.workflow.checks import first_source_error

    off = {d: getattr(cfg, d).model_copy(update={"enabled": False})
           for d in ("stem_lattice", "lm") if d != dataset}
    return first_source_error(cfg.model_copy(update=off))


class _Progress:
    """Progress over shard jobs on stderr: a tqdm bar on a terminal, else one log line per
    finished job with its images/s and the ETA (the finished jobs' mean time per job,
    ``workers`` jobs at once)."""

    def __init__(self, total: int, workers: int, say: Callable[[str], None]):
        self.total, self.workers, self.say = total, workers, say
        self.done, self.images, self.job_seconds = 0, 0, 0.0
        self.t0 = time.perf_counter()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="shard", file=sys.stderr, dynamic_ncols=True)

    def update(self, job: ShardJob, n: int, seconds: float) -> None:
        self.done += 1
        self.images += n
        self.job_seconds += seconds
        rate = n / seconds if seconds > 0 else float("inf")
        if self.bar is not None:
            self.bar.set_postfix_str(f"{job.label}: {rate:.1f} images/s", refresh=False)
            self.bar.update(1)
            return
        rounds = -(-(self.total - self.done) // self.workers)
        eta = self.job_seconds / self.done * rounds
        self.say(f"[{self.done}/{self.total}] {job.label}: {n} images in {seconds:.2f} s "
                 f"({rate:.1f} images/s); ETA {timedelta(seconds=round(eta))}")

    def close(self) -> float:
        if self.bar is not None:
            self.bar.close()
        return time.perf_counter() - self.t0


def _run_jobs(jobs: Sequence[ShardJob], n_workers: int, progress: _Progress) -> None:
    if n_workers == 1 or len(jobs) == 1:
        for job in jobs:
            progress.update(job, *run_shard_job(job))
        return
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    # Not fork: a child forked from a process whose torch ran threads can deadlock. A fork
    # server imports the builder once (a fresh process, no thread run) and forks the
    # workers from it; spawn (each worker imports torch) where there is no fork server.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([_BUILDERS[jobs[0].dataset]])
    else:
        ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n_workers, len(jobs)), mp_context=ctx) as pool:
        todo = {pool.submit(run_shard_job, job): job for job in jobs}
        try:
            while todo:
                finished, _ = wait(todo, return_when=FIRST_EXCEPTION)
                for fut in finished:
                    job = todo.pop(fut)
                    progress.update(job, *fut.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def cmd_simulate(args: argparse.Namespace) -> int:
    """``simart simulate``: build the selected shards of one dataset (see its --help)."""
    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    cfg = load_config(args.configfile)
    dataset, root = args.dataset, os.path.normpath(args.out)
    section = getattr(cfg, dataset)
    if dataset != "simart" and not section.enabled:
        raise CommandError(f"dataset {dataset} is disabled in the config ({dataset}.enabled: "
                           "false): there is nothing to build")
    error = _source_error(cfg, dataset)
    if error:
        raise CommandError(f"input files: {error}")
    splits = list(dict.fromkeys(args.split or SPLITS))
    jobs = plan_jobs(cfg, root, dataset, splits)

    from simart.io import DiskFullError
    from simart.provenance import ShardCorrupt, TableCorrupt
    from simart.simulate.sources import SourceError

    try:
        stale = _SECTIONS[dataset][3] is not None and ensure_catalog(cfg, root, dataset,
                                                                      args.force, say)
    except SourceError as err:
        raise CommandError(f"input files: {err}") from None
    except DiskFullError as err:
        say(f"simart simulate: error: {err}")
        return 1
    todo, skipped = [], 0
    for job in jobs:
        if not (args.force or stale):
            n, size, dtype = _expected_images(cfg, dataset, job.split, job.shard)
            problems = {h5: shard_problem(h5, n, size, dtype, cfg.seed)
                        for h5 in job.outs.values()}
            if not any(problems.values()):
                skipped += 1
                continue
            for h5, problem in problems.items():
                if problem and not problem.startswith("missing"):
                    say(f"rebuilding {h5}: {problem}")
        todo.append(job)
    what = f"{dataset}, splits {'/'.join(splits)}"
    say(f"simart simulate: {what}: {len(jobs)} shard job(s) under {root}/{dataset}/shards; "
        f"{len(todo)} to build" + (f", {skipped} complete and skipped (--force rebuilds them)"
                                   if skipped else ""))
    if not todo:
        return 0
    progress = _Progress(len(todo), args.jobs, say)
    try:
        _run_jobs(todo, args.jobs, progress)
    except (DiskFullError, ShardCorrupt, TableCorrupt, SourceError) as err:
        progress.close()
        say(f"simart simulate: error: {err}")
        return 1
    seconds = progress.close()
    say(f"simart simulate: built {len(todo)} shard job(s), {progress.images} images in "
        f"{seconds:.1f} s ({progress.images / max(seconds, 1e-9):.1f} images/s)")
    return 0


_SIMULATE_HELP = """\
Build one dataset's shards from a config, without Snakemake: the same library code the
workflow's rules run (rules/sources.smk, rules/simulate.smk, rules/datasets.smk), at the
same paths under --out as the rules write under results/:

  simart:        OUT/simart/sources.parquet, OUT/simart/shards/{modality}/{split}/{shard}.h5
  stem_lattice:  OUT/stem_lattice/shards/L{level}/{split}/{shard}.h5
  stm_cu111:     OUT/stm_cu111/shards/{domain}/{split}/{shard}.h5
  lm:            OUT/lm/sources.parquet, OUT/lm/shards/{mode}/{split}/{shard}.h5

each .h5 with its .parquet parameter table, written atomically (an interrupted run leaves
no partial file). A shard is complete, and skipped unless --force, when both files exist,
its content matches its fingerprint and it was written for the config's seed, image
count, image size and dtype; after changing other settings of a dataset (parameters,
sources), rebuild with --force. A rewritten source catalog rebuilds its dataset's shards.

Config: the --configfile files merged as Snakemake merges them (later files update
earlier ones, mappings key by key) -- NOT over config.yaml: give config.yaml first to
override it (--configfile config.yaml --configfile mine.yaml); configs/*.yaml presets are
complete configs. Without --configfile: config.yaml of the current directory.

Exit status: 0 done, 1 a job failed (disk full, damaged input), 2 a config or input
error (named key or file).

Example:
  simart simulate --configfile configs/workstation.yaml --dataset lm --split test --jobs 4
"""


def _add_simulate(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="build a dataset's shards (HDF5 + Parquet) from a config",
        description=_SIMULATE_HELP, formatter_class=_Formatter)
    p.add_argument("--configfile", action="append", metavar="FILE",
                   help="config YAML; repeat to merge several (later ones update earlier "
                        "ones); default: ./config.yaml")
    p.add_argument("--dataset", choices=DATASETS, default="simart",
                   help="the dataset to build (default: simart)")
    p.add_argument("--split", action="append", choices=SPLITS, metavar="{train,val,test}",
                   help="build only this split; repeat for several (default: all three)")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="results folder the shards are written under, as results/ of the "
                        "workflow (default: results)")
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                   help="shard jobs run at once: a process pool; each job uses one torch "
                        "thread, as the rules (default: 1)")
    p.add_argument("--force", action="store_true",
                   help="rebuild complete shards and the source catalog too")
    p.set_defaults(func=cmd_simulate)


# ============================================================================ restore

_RESTORE_HELP = """\
Restore real micrographs (any format docs/dataset.md lists: TIFF, MRC, DM3/DM4, TIA .ser,
EMD, Digital Surf, Nanonis .sxm) with one model: DIR/{image}.tif (float32, in the input's
units, pixel size kept) and DIR/measures.csv (no-reference measures, docs/real_data.md).
The same code as the workflow's rule real_restore: the same file, model, weights, seed and
device give the same pixels.

A learned model reads its trained weights (--weights best.pt); its dataset and subset come
from the checkpoint. The classical baselines and the physics-guided samplers (PCSD, PI-DDPM)
need the operator's parameters (--param NAME=VALUE, every parameter of the subset's
operator); without them they are refused.

Examples:
  simart restore --model unet --weights results/models/simart/TEM/unet/best.pt \\
      scan.dm4 more/ --out restored/
  simart restore --model wiener --dataset simart --subset TEM --param defocus_nm=-80 \\
      --param cs_mm=1.2 ... image.ser --out restored/
"""


def _param(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=NUMBER, e.g. "
                                         "defocus_nm=-80") from None


def cmd_restore(args: argparse.Namespace) -> int:
    import torch

    from simart.data.readers import ReaderError
    from simart.realdata import RealDataError, operator_problem, restore_paths

    torch.set_num_threads(args.threads)
    operator = dict(args.param) if args.param else None
    if operator is not None and args.dataset and args.subset:
        problem = operator_problem(args.dataset, args.subset, operator, "--param")
        if problem:
            raise CommandError(problem)
    try:
        table = restore_paths(args.inputs, args.model, args.out, weights=args.weights,
                              dataset=args.dataset, subset=args.subset, operator=operator,
                              pixel_size_nm=args.pixel_size_nm, crop=args.crop,
                              device=args.device, seed=args.seed,
                              progress=sys.stderr.isatty())
    except (RealDataError, ReaderError, FileNotFoundError) as err:
        raise CommandError(str(err)) from None
    ok = int((table["status"] == "ok").sum())
    print(f"{ok} of {len(table)} images restored with {args.model} into {args.out}"
          + "".join(f"\n  {r.image}: missing: {r.missing_reason}"
                    for r in table.itertuples() if r.status != "ok"), flush=True)
    return 0 if ok == len(table) else 1


def _add_restore(subparsers) -> None:
    p = subparsers.add_parser(
        "restore", help="restore real images with one model (any format in, TIFF out)",
        description=_RESTORE_HELP, formatter_class=_Formatter)
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="image files, folders or glob patterns")
    p.add_argument("--model", required=True, help="model name (docs/models.md), e.g. unet")
    p.add_argument("--weights", metavar="best.pt",
                   help="trained weights of a learned model (results/models/.../best.pt)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the TIFFs")
    p.add_argument("--dataset", help="dataset whose operator/model applies (default: the "
                                     "checkpoint's; required for classical models)")
    p.add_argument("--subset", help="subset (e.g. TEM, widefield; default: the checkpoint's "
                                    "first)")
    p.add_argument("--param", action="append", type=_param, metavar="NAME=VALUE",
                   help="one operator parameter; repeat for each")
    p.add_argument("--pixel-size-nm", type=float, metavar="NM",
                   help="pixel size for files that state none")
    p.add_argument("--crop", type=_positive_int, metavar="PX",
                   help="centred square crop before restoration")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where a learned model runs (default: auto = CUDA when present)")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="CPU threads of torch (default 1, as the workflow's jobs: the same "
                        "pixels as the rule; more threads are faster on a CPU and may "
                        "change the last bits)")
    p.add_argument("--seed", type=int, default=20261121,
                   help="seed of a sampling model (default 20261121: the embedded config's; "
                        "give your config's seed to match its rule outputs)")
    p.set_defaults(func=cmd_restore)


# ============================================================================ entry point

#: every subcommand's registration function, in the order ``simart --help`` lists them
SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (_add_simulate, _add_restore)


def build_parser() -> argparse.ArgumentParser:
    """The ``simart`` parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="simart", formatter_class=_Formatter,
        description="SIMART microscopy-restoration benchmark: tools for work outside a "
                    "benchmark run\n(the benchmark itself runs with `snakemake`). "
                    "`simart <command> --help` documents\na command's options.")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="<command>",
                                       required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``simart`` with ``argv`` (default: the process's arguments); return the exit
    status. A :class:`CommandError` is printed as one message (no traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as err:
        print(f"simart {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.status
    except KeyboardInterrupt:
        print(f"simart {args.command}: interrupted (finished files are complete, no partial "
              "file is left)", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
