"""Real micrographs through the benchmark's models: restore them and score them without
ground truth (rules/realdata.smk and ``simart restore`` run the same functions).

One real image, one model -> one restored image (float32 TIFF in the input's units, with its
pixel size) and one table row of no-reference measures:

* ``piqe``, ``brisque`` (lower = better; seed 003 Table II) of the restored image;
* ``pss_input``: power-spectrum similarity of the restored image to the input (seed 000
  §4.3.2: "correlation between power spectra of input and output images");
* ``noise_sigma`` and ``noise_sigma_input``: the noise level (MAD of the finest diagonal
  wavelet band) after and before; ``artifact_reduction`` = 1 - after / before (seed 000
  §4.3.2 names an "artifact reduction score" without defining it: this is our definition,
  for the noise part of the artefacts only);
* ``frc1_res_px`` / ``frc1_res_px_input`` (and ``_nm`` with a pixel size): the one-image
  Fourier ring correlation resolution (checkerboard split, Koho et al. 2019) after and
  before. A denoiser correlates the noise of the two sub-images, so a restored image's
  one-image FRC reads finer than its true resolution: it says how far the restoration
  changed the image's spectral content, not that it resolved detail.

The seeds' expert scores (seed 000 Table 5: physical plausibility, structural fidelity,
artefact removal on a 5-point scale by three microscopists) are **not reproduced**: no expert
panel rates these images; the tables say so.

Intensities: a real image comes in its instrument's units. The models were trained on
images whose clean targets span [0, 1], so the image is mapped to that range by its
0.1 / 99.9 percentiles (:class:`Normalisation`), restored, and mapped back; the measures are
taken on the [0, 1] versions. NaN pixels (an incomplete scan) are filled with the median
first (the table says how many).

Models: the learned ones read their trained weights (the model trained on the set's
dataset/subset); the physics-guided samplers (PCSD, PI-DDPM) and the classical baselines need
the operator's parameters -- given for a set (``real_data.sets.<name>.operator``) they run,
else their rows are ``missing`` with the reason. The noisy-input row is the input itself.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simart.io import atomic_path

LOG = logging.getLogger(__name__)

#: smallest image side the real-data stage takes: BRISQUE's minimum (its half-scale features)
MIN_SIZE = 32
#: percentiles mapped to 0 and 1 (models were trained on clean targets in [0, 1])
NORM_PERCENTILES = (0.1, 99.9)
#: the measures of one restored image, in table order (docs/real_data.md)
MEASURES = ("piqe", "brisque", "pss_input", "noise_sigma", "noise_sigma_input",
            "artifact_reduction", "frc1_res_px", "frc1_res_px_input", "frc1_res_nm",
            "frc1_res_nm_input")
#: columns of the summary tables: (measure, label, lower is better)
SUMMARY_MEASURES = (("piqe", "PIQE", True), ("brisque", "BRISQUE", True),
                    ("pss_input", "PSS to input", False),
                    ("noise_sigma", "noise σ", True),
                    ("artifact_reduction", "artefact reduction", False),
                    ("frc1_res_px", "1-image FRC (px)", True))
EXPERT_NOTE = ("The seeds' expert scores (seed 000 Table 5: physical plausibility, structural "
               "fidelity, artefact removal; 5-point scale, three microscopists) are not "
               "reproduced: no expert panel rated these images. These are no-reference "
               "measures computed by the pipeline.")


class RealDataError(ValueError):
    """A real image or a real-data setting cannot be used (the message names it)."""


# ----------------------------------------------------------------------------- inputs
def image_name(path: str | os.PathLike) -> str:
    """The name of an image in results paths: its file stem, other characters than letters,
    digits, ``-``, ``_`` and ``.`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(path).stem)


def expand_paths(paths: Sequence[str], key: str = "paths") -> dict[str, str]:
    """{image name: file} of files, folders (their readable files, sorted) and glob patterns.

    A TIA ``.emi`` file is skipped in a folder or pattern (its image is in the ``.ser``
    beside it). :class:`RealDataError` naming ``key`` for a path that matches nothing, a
    file of a format no reader takes, or two files with the same name."""
    from simart.data.readers import READER_EXTENSIONS

    out: dict[str, str] = {}
    for entry in paths:
        if os.path.isdir(entry):
            found = sorted(str(p) for p in Path(entry).iterdir()
                           if p.is_file() and p.suffix.lower() in READER_EXTENSIONS)
            if not found:
                raise RealDataError(f"config key {key!r}: folder {entry!r} holds no readable "
                                    f"image file (extensions {list(READER_EXTENSIONS)})")
        elif any(c in entry for c in "*?["):
            found = sorted(p for p in glob.glob(entry)
                           if os.path.isfile(p) and Path(p).suffix.lower() != ".emi")
            if not found:
                raise RealDataError(f"config key {key!r}: pattern {entry!r} matches no file")
        elif os.path.isfile(entry):
            found = [entry]
        else:
            raise RealDataError(f"config key {key!r}: {entry!r} does not exist")
        for p in found:
            ext = Path(p).suffix.lower()
            if ext not in READER_EXTENSIONS:
                raise RealDataError(f"config key {key!r}: {p!r} has extension {ext!r}, "
                                    f"which no reader takes; allowed: "
                                    f"{list(READER_EXTENSIONS)}")
            name = image_name(p)
            if name in out and os.path.realpath(out[name]) != os.path.realpath(p):
                raise RealDataError(f"config key {key!r}: {out[name]!r} and {p!r} have the "
                                    f"same name {name!r}: rename one")
            out[name] = p
    return out


@dataclass(frozen=True)
class Normalisation:
    """The affine map of an image's units onto [0, 1] by two percentiles."""

    lo: float
    hi: float

    @classmethod
    def of(cls, x: np.ndarray) -> Normalisation:
        lo, hi = (float(v) for v in np.percentile(x, NORM_PERCENTILES))
        if not hi > lo:
            lo, hi = float(x.min()), float(x.max())
        if not hi > lo:
            hi = lo + 1.0  # a constant image: any scale
        return cls(lo, hi)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.lo) / (self.hi - self.lo)

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64) * (self.hi - self.lo) + self.lo


@dataclass
class RealImage:
    """A real image ready for restoration: ``data`` in the file's units (cropped, NaN
    filled), ``x01`` mapped to [0, 1], its pixel size (nm or None) and where it came from."""

    path: str
    name: str
    data: np.ndarray
    x01: np.ndarray
    norm: Normalisation
    pixel_size_nm: float | None
    pixel_size_from: str
    reader: str
    nan_filled: int
    shape_read: tuple[int, int]


def load_real(path: str | os.PathLike, *, pixel_size_nm: float | None = None,
              crop: int | None = None) -> RealImage:
    """Read one real image (:func:`simart.data.readers.read_image`), fill NaNs, crop,
    normalise. ``pixel_size_nm`` is used when the file states none. Images smaller than
    :data:`MIN_SIZE` per side are refused."""
    from simart.data.readers import read_image

    img = read_image(path)
    data = np.asarray(img.data, np.float64)
    shape_read = tuple(int(s) for s in data.shape)
    bad = ~np.isfinite(data)
    if bad.all():
        raise RealDataError(f"{path}: the image holds no finite pixel")
    if bad.any():
        data = np.where(bad, np.median(data[~bad]), data)
    if crop is not None:
        h, w = data.shape
        if min(h, w) < crop:
            raise RealDataError(f"{path}: image {h}x{w} is smaller than crop = {crop}")
        top, left = (h - crop) // 2, (w - crop) // 2
        data = data[top:top + crop, left:left + crop]
    if min(data.shape) < MIN_SIZE:
        raise RealDataError(f"{path}: image {data.shape[0]}x{data.shape[1]} is smaller than "
                            f"{MIN_SIZE} px per side, which the no-reference measures need "
                            "(BRISQUE); leave it out of the set's paths")
    if img.pixel_size_nm is not None:
        px, src = float(img.pixel_size_nm), "file"
    elif pixel_size_nm is not None:
        px, src = float(pixel_size_nm), "config"
    else:
        px, src = None, "none"
    norm = Normalisation.of(data)
    return RealImage(str(path), image_name(path), data, norm.forward(data), norm, px, src,
                     img.reader, int(bad.sum()), shape_read)


def operator_row(dataset: str, subset: str, operator: Mapping[str, float] | None,
                 pixel_size_nm: float | None) -> dict[str, float] | None:
    """The parameter row the physics-aware rows read (None when the operator is unknown):
    the configured parameters, the pixel size where the operator has one, seeds 0."""
    if operator is None:
        return None
    from simart.physics.dataset_ops import param_names

    row: dict[str, float] = dict(operator)
    names = param_names(dataset, subset)
    for k in names:
        if k.endswith("_seed"):
            row.setdefault(k, 0)
    if "pixel_size_nm" in names and "pixel_size_nm" not in row and pixel_size_nm is not None:
        row["pixel_size_nm"] = pixel_size_nm
    return row


def operator_problem(dataset: str, subset: str, operator: Mapping[str, float] | None,
                     key: str) -> str | None:
    """What is wrong with a set's ``operator`` parameters (None: nothing): unknown names,
    or names the subset's operator needs that are missing (seeds and the pixel size, which
    the file may state, excepted)."""
    if operator is None:
        return None
    from simart.physics.dataset_ops import param_names

    names = [k for k in param_names(dataset, subset) if not k.endswith("_seed")]
    if not names:
        return f"config key {key!r}: dataset {dataset!r} has no operator parameters"
    unknown = sorted(set(operator) - set(names))
    missing = sorted(set(names) - set(operator) - {"pixel_size_nm"})
    if unknown or missing:
        return (f"config key {key!r}: unknown {unknown}, missing {missing}; the {subset} "
                f"operator's parameters are {names}")
    return None


# ----------------------------------------------------------------------------- restore
def prediction_generator(seed: int, model: str, image: str):
    """The generator a sampling model draws from for one real image: a function of
    (seed, model, image name) only (the rule and ``simart restore`` draw the same)."""
    import torch

    from simart.simulate.dataset_common import dataset_tag

    ss = np.random.SeedSequence([int(seed), dataset_tag(model), dataset_tag(image), 13])
    return torch.Generator().manual_seed(int(ss.generate_state(1, np.uint64)[0]))


def restore(img: RealImage, model: str, *, dataset: str, subset: str,
            weights: str | os.PathLike | None = None,
            operator: Mapping[str, float] | None = None,
            model_kwargs: Mapping[str, Any] | None = None,
            seed: int = 0) -> tuple[np.ndarray | None, str, float, dict[str, np.ndarray]]:
    """Restore one real image with one row: (restored in [0, 1] units or None when missing,
    missing reason or "", seconds, extra outputs such as uncertainty maps)."""
    from simart.config import LEARNED_MODELS

    kwargs = dict(model_kwargs or {})
    net_name = kwargs.get("net_model") or model
    row = operator_row(dataset, subset, operator, img.pixel_size_nm)
    t0 = time.perf_counter()
    if model == "noisy":
        return img.x01.astype(np.float32), "", time.perf_counter() - t0, {}
    if net_name in LEARNED_MODELS:
        from simart.evaluation.learned import predict_learned, resolve_device
        from simart.models import MODEL_REGISTRY
        from simart.physics.dataset_ops import image_params

        if weights is None:
            raise RealDataError(f"model {model!r} is learned: it needs its trained weights")
        needs = MODEL_REGISTRY[net_name].predict_needs
        if "params" in needs:
            if row is None:
                return None, _no_operator(model, dataset, subset), 0.0, {}
            kwargs["params"] = [image_params(dataset, subset, row)]
        if "gen" in needs:
            resolve_device(kwargs.get("device", "auto"))
            kwargs["gen"] = prediction_generator(seed, model, img.name)
        kwargs["batch_size"] = 1
        preds, _, extras = predict_learned(weights, model, dataset, subset,
                                           img.x01[None].astype(np.float32), **kwargs)
        return (preds[0], "", time.perf_counter() - t0,
                {k: np.asarray(v)[0] for k, v in extras.items()})
    from simart.restore.classical import CLASSICAL_MODELS, NotApplicableError

    if row is None:
        return None, _no_operator(model, dataset, subset), 0.0, {}
    try:
        out = CLASSICAL_MODELS[model](img.x01, subset, row, **kwargs)
    except NotApplicableError as exc:
        return None, str(exc), 0.0, {}
    return np.asarray(out, np.float32), "", time.perf_counter() - t0, {}


def needs_operator(model: str) -> bool:
    """Whether a row needs the operator's parameters: the classical baselines (not the
    noisy input) and the learned models that predict with them (physics-guided samplers)."""
    from simart.config import LEARNED_MODELS

    if model == "noisy":
        return False
    if model in LEARNED_MODELS:
        from simart.models import MODEL_REGISTRY

        return "params" in MODEL_REGISTRY[model].predict_needs
    return True


def _no_operator(model: str, dataset: str, subset: str) -> str:
    return (f"{model} needs the {dataset}/{subset} operator's parameters, unknown for this "
            "real image (give them as real_data.sets.<name>.operator)")


# ----------------------------------------------------------------------------- measures
def measures(x_in: np.ndarray, x_out: np.ndarray | None,
             pixel_size_nm: float | None) -> dict[str, Any]:
    """The no-reference measures of one restoration (:data:`MEASURES`), each with a
    ``<name>_reason`` ("" where computed; why not where NaN). ``x_in``/``x_out`` in [0, 1]
    units; ``x_out`` None: the row is missing (every measure NaN)."""
    import torch

    from simart.metrics import fourier, noref
    from simart.metrics._checks import MetricUnavailable

    t_in = torch.from_numpy(np.asarray(x_in, np.float64))[None, None]
    t_out = None if x_out is None else torch.from_numpy(np.asarray(x_out, np.float64))[None,
                                                                                        None]

    def one(fn, *args, nan: str = "undefined for this image") -> tuple[float, str]:
        try:
            v = fn(*args)
        except MetricUnavailable as exc:
            return float("nan"), str(exc)
        v = float(v.reshape(-1)[0]) if hasattr(v, "reshape") else float(v)
        return v, "" if np.isfinite(v) else nan

    def frc(t):
        return one(lambda a: fourier.single_image_frc(a)[1], t,
                   nan="not resolved: the one-image FRC falls below 1/7 within its first "
                       "8 rings (noise dominates)")

    out: dict[str, Any] = {}
    sig_in = one(noref.noise_sigma_mad, t_in)
    frc_in = frc(t_in)
    vals = {"noise_sigma_input": sig_in, "frc1_res_px_input": frc_in}
    if t_out is None:
        for m in ("piqe", "brisque", "pss_input", "noise_sigma", "artifact_reduction",
                  "frc1_res_px"):
            vals[m] = (float("nan"), "row missing")
    else:
        vals["piqe"] = one(noref.piqe, t_out)
        vals["brisque"] = one(noref.brisque, t_out)
        vals["pss_input"] = one(fourier.pss, t_out, t_in)
        vals["noise_sigma"] = one(noref.noise_sigma_mad, t_out)
        vals["artifact_reduction"] = one(noref.artifact_reduction, t_in, t_out)
        vals["frc1_res_px"] = frc(t_out)
    for base in ("frc1_res_px", "frc1_res_px_input"):
        v, why = vals[base]
        nm = base.replace("_px", "_nm")
        vals[nm] = ((v * pixel_size_nm, why) if pixel_size_nm is not None
                    else (float("nan"), "the image has no pixel size"))
    for m in MEASURES:
        out[m], out[f"{m}_reason"] = vals[m]
    return out


# ----------------------------------------------------------------------------- outputs
def write_tiff(path: str | os.PathLike, image: np.ndarray, pixel_size_nm: float | None,
               description: Mapping[str, Any] | None = None) -> None:
    """A float32 ImageJ TIFF (atomically), with its pixel size in nm when known (read back
    by :func:`simart.data.readers.read_image`)."""
    import json

    import tifffile

    kw: dict[str, Any] = {"metadata": {"unit": "nm"} if pixel_size_nm else {}}
    if pixel_size_nm:
        kw["resolution"] = (1.0 / pixel_size_nm, 1.0 / pixel_size_nm)
    if description:
        kw["metadata"]["simart"] = json.dumps(dict(description), sort_keys=True, default=str)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, ".tif") as tmp:
        tifffile.imwrite(tmp, np.asarray(image, np.float32), imagej=True, **kw)


def restore_file(path: str | os.PathLike, model: str, out_tif: str | os.PathLike, *,
                 dataset: str, subset: str, weights: str | os.PathLike | None = None,
                 operator: Mapping[str, float] | None = None,
                 pixel_size_nm: float | None = None, crop: int | None = None,
                 model_kwargs: Mapping[str, Any] | None = None, seed: int = 0,
                 set_name: str = "", out_table: str | os.PathLike | None = None
                 ) -> pd.DataFrame:
    """Read, restore, write the restored image (TIFF in the input's units; a missing row
    writes the input with the reason in its description) and one table row (returned, and
    written to ``out_table`` when given)."""
    from simart.provenance import file_sha256

    img = load_real(path, pixel_size_nm=pixel_size_nm, crop=crop)
    out01, reason, seconds, _ = restore(img, model, dataset=dataset, subset=subset,
                                        weights=weights, operator=operator,
                                        model_kwargs=model_kwargs, seed=seed)
    status = "ok" if out01 is not None else "missing"
    row: dict[str, Any] = {
        "set": set_name, "image": img.name, "file": str(path), "model": model,
        "dataset": dataset, "subset": subset, "status": status, "missing_reason": reason,
        "seconds": seconds, "height": img.data.shape[0], "width": img.data.shape[1],
        "pixel_size_nm": img.pixel_size_nm, "pixel_size_from": img.pixel_size_from,
        "reader": img.reader, "nan_filled": img.nan_filled, "norm_lo": img.norm.lo,
        "norm_hi": img.norm.hi, "operator_known": operator is not None,
        "weights_sha256": file_sha256(weights) if weights is not None else "",
        **measures(img.x01, out01, img.pixel_size_nm)}
    restored = img.data if out01 is None else img.norm.inverse(out01)
    write_tiff(out_tif, restored, img.pixel_size_nm,
               {"model": model, "status": status, "reason": reason, "source": str(path),
                "dataset": dataset, "subset": subset})
    table = pd.DataFrame([row])
    if out_table is not None:
        with atomic_path(out_table) as tmp:
            table.to_parquet(tmp, index=False)
    LOG.info("%s %s: %s in %.2f s (%s)", img.name, model, status, seconds,
             reason or f"PIQE {row['piqe']:.1f}, noise sigma {row['noise_sigma_input']:.4f}"
             f" -> {row['noise_sigma']:.4f}")
    return table


# ----------------------------------------------------------------------------- tables
def _mean_std(s: pd.Series) -> str:
    s = s.dropna()
    if s.empty:
        return "–"
    return f"{s.mean():.3f} ± {s.std(ddof=1):.3f}" if len(s) > 1 else f"{s.mean():.3f}"


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """seed 000 Table 5's shape: one row per (set, model), the mean ± std over the set's
    images of each summary measure, the images scored and why others are missing."""
    out = []
    for (set_name, model), g in rows.groupby(["set", "model"], sort=False):
        ok = g[g["status"] == "ok"]
        rec: dict[str, Any] = {"set": set_name, "model": model, "images": len(g),
                               "restored": len(ok)}
        for m, label, _ in SUMMARY_MEASURES:
            rec[label] = _mean_std(ok[m])
        rec["input noise σ"] = _mean_std(g["noise_sigma_input"])
        rec["input 1-image FRC (px)"] = _mean_std(g["frc1_res_px_input"])
        reasons = sorted(set(g.loc[g["status"] != "ok", "missing_reason"]))
        rec["missing"] = "; ".join(reasons)
        out.append(rec)
    return pd.DataFrame(out)


def table_ii(rows: pd.DataFrame) -> pd.DataFrame:
    """seed 003 Table II's shape: BRISQUE and PIQE (mean over a set's images) per model,
    one column pair per set; the noisy-input row is the experimental images themselves."""
    ok = rows[rows["status"] == "ok"]
    piv = ok.groupby(["model", "set"], sort=False)[["brisque", "piqe"]].mean().unstack("set")
    piv.columns = [f"{s} {m.upper()}" for m, s in piv.columns]
    order = list(dict.fromkeys(rows["model"]))
    return piv.reindex(order).reset_index()


def write_tables(tables: Sequence[str | os.PathLike], out: Mapping[str, str]) -> pd.DataFrame:
    """The per-image rows of every real set -> ``out``: images (CSV, Parquet), summary
    (CSV, Markdown with the Table II shape and the note on expert scores)."""
    from simart.provenance import read_table

    rows = pd.concat([read_table(t) for t in tables], ignore_index=True)
    summary, t2 = summary_table(rows), table_ii(rows)
    for key, fn in (("images_csv", lambda p: rows.to_csv(p, index=False)),
                    ("images_parquet", lambda p: rows.to_parquet(p, index=False)),
                    ("csv", lambda p: summary.to_csv(p, index=False))):
        with atomic_path(out[key]) as tmp:
            fn(tmp)
    md = ["# Real images: no-reference measures", "", EXPERT_NOTE, "",
          ("## Per set and model (mean ± std over the set's images; the shape of seed 000 "
          "Table 5)"), "", summary.to_markdown(index=False), "",
          "## BRISQUE and PIQE (lower = better; the shape of seed 003 Table II)", "",
          t2.astype(object).where(t2.notna(), None).to_markdown(
              index=False, floatfmt=".2f", missingval="–"), "",
          "– : not run on that set, or missing (the reasons are in the table above).", "",
          ("Measures: docs/real_data.md. One-image FRC of a restored image reads finer than "
          "its resolution (a denoiser correlates the two sub-images' noise)."), ""]
    with atomic_path(out["md"]) as tmp:
        Path(tmp).write_text("\n".join(md), encoding="utf-8")
    return rows


# ----------------------------------------------------------------------------- command line
def restore_paths(paths: Sequence[str | os.PathLike], model: str, out_dir: str | os.PathLike,
                  *, weights: str | os.PathLike | None = None, dataset: str | None = None,
                  subset: str | None = None, operator: Mapping[str, float] | None = None,
                  pixel_size_nm: float | None = None, crop: int | None = None,
                  device: str = "auto", seed: int = 20261121, progress: bool = True
                  ) -> pd.DataFrame:
    """``simart restore``: every file of ``paths`` (files, folders, patterns) restored by
    ``model`` into ``out_dir/{image}.tif``, the measures in ``out_dir/measures.csv``.

    A learned model's dataset and subset come from its checkpoint (``subset``: which of
    its subsets, default the first); a classical row needs ``dataset``/``subset`` and
    ``operator``. The same function as rule real_restore (:func:`restore_file`): same
    inputs, seed and device give the same pixels."""
    from tqdm.auto import tqdm

    from simart.config import LEARNED_MODELS

    if model in LEARNED_MODELS:
        if weights is None:
            raise RealDataError(f"model {model!r} is learned: give its trained weights "
                                "(--weights results/models/<dataset>/<group>/<model>/best.pt)")
        from simart.train.checkpoint import load_checkpoint

        ident = load_checkpoint(weights)["identity"]
        if ident.get("model") != model:
            raise RealDataError(f"{weights} holds model {ident.get('model')!r}, not {model!r}")
        subsets = list(ident.get("subsets") or [])
        dataset = dataset or ident.get("dataset")
        if subset is None:
            subset = subsets[0] if subsets else None
        elif subsets and subset not in subsets:
            raise RealDataError(f"--subset {subset!r}: {weights} was trained on {subsets}")
    if dataset is None or subset is None:
        raise RealDataError(f"model {model!r}: give --dataset and --subset (e.g. simart TEM)")
    if operator is None and needs_operator(model):
        raise RealDataError(f"model {model!r} needs the {dataset}/{subset} operator's "
                            "parameters: give each as --param NAME=VALUE")
    problem = operator_problem(dataset, subset, operator, "--param")
    if problem:
        raise RealDataError(problem)
    files = expand_paths([str(p) for p in paths], "IN")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    bar = tqdm(files.items(), desc=f"restore ({model})", unit="image", disable=not progress)
    for name, path in bar:
        rows.append(restore_file(path, model, out / f"{name}.tif", dataset=dataset,
                                 subset=subset, weights=weights, operator=operator,
                                 pixel_size_nm=pixel_size_nm, crop=crop,
                                 model_kwargs={"device": device}
                                 if model in LEARNED_MODELS else None, seed=seed))
    table = pd.concat(rows, ignore_index=True)
    with atomic_path(out / "measures.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table
