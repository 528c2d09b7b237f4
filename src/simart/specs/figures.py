"""The paper figures and tables (and the reproduction report) as specs: one entry per rule.

A :class:`FigureSpec` says what one figure or table rule draws: its rule name (logs and
benchmarks keep it), the paper and its label there, the drawing function (dotted path,
imported only when it runs), the :class:`~simart.workflow.figures_plan.FigurePlan` methods
that give its inputs and keyword arguments, its outputs, the caption of ``snakemake
--report`` and when it is a target of the config. rules/figures.smk makes one rule per
entry, each running workflow_scripts/figure.py, which calls :func:`draw_figure`.

The drawing function is called as ``function(**kwargs, out_paths=[figure files], **outputs)``:
``kwargs`` from the plan method ``kwargs`` (paths included: the function reads them itself,
or ``load`` reads them first), ``out_paths`` the figure files results/figures/<figure>.<fmt>
per ``figures.formats`` (when ``figure`` is not None), ``outputs`` the other named outputs
of the plan method ``outputs``. A function writes its files atomically (simart.io).

A table entry (``kind="table"``) draws no figure (``figure=None``): its function writes
the ``outputs`` only. The entry of ``kind="report"`` (the reproduction report) reads what the
figures and tables write (their claims tables), so its ``applies`` looks at theirs.

Torch-free and pandas-free, like every module of simart.specs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Paper = Literal["benchmark", "pcsd", "pinned", "piddpm", "pdanet", "condddpm"]
Kind = Literal["figure", "table", "report"]

#: report categories of the papers (``snakemake --report``)
CATEGORIES: dict[str, str] = {
    "benchmark": "SIMART",
    "pcsd": "The PCSD paper",
    "pinned": "The PINNED paper",
    "piddpm": "The PI-DDPM paper",
    "pdanet": "The PDA-Net paper",
    "condddpm": "The conditional-DDPM paper",
}


@dataclass(frozen=True)
class FigureSpec:
    """One figure or table rule: what it draws, from what, into what, and when."""

    name: str  # the rule name (also its log and benchmark file names)
    paper: Paper
    label: str  # where it is in the paper ("Fig. 2 A/B")
    function: str  # dotted path module.function of the drawing function
    inputs: str  # FigurePlan method (no arguments): the paths it reads (a tree of dicts/lists)
    kwargs: str | None = None  # FigurePlan method: {keyword: value} of the function
    figure: str | None = ""  # results/figures/<figure>.<fmt>; "" = the name; None = no figure
    outputs: str | None = None  # FigurePlan method: {keyword: path} of its other outputs
    caption: str = ""  # reStructuredText of the report (Jinja2 with ``snakemake.config``)
    subcategory: str = ""  # report subcategory (the category is the paper's)
    applies: str | None = None  # FigurePlan method: a target only when it returns something
    load: dict[str, str] = field(default_factory=dict)  # keyword: "module.reader(kw, ...)"
    mem_mb: int = 2000
    runtime: int = 15  # minutes
    summary: str = ""  # one line: the rule's description (snakemake --list-rules)
    kind: Kind = "figure"  # "table": no figure; "report": reads the others' claims tables
    # {output keyword: caption file under report/} of outputs marked for the report one by
    # one (Snakemake renders a caption per job, not per file: one file per caption)
    caption_files: dict[str, str] = field(default_factory=dict)

    @property
    def figure_name(self) -> str | None:
        """The figure's file stem (None: the rule draws no figure)."""
        return None if self.figure is None else (self.figure or self.name)

    @property
    def category(self) -> str:
        return CATEGORIES[self.paper]

    @property
    def fn(self) -> Callable[..., Any]:
        return _imported(self.function)

    def loaders(self) -> dict[str, tuple[str, list[str]]]:
        """{keyword: (reader's dotted path, the keywords it reads)} of ``load``."""
        out = {}
        for key, how in self.load.items():
            m = re.fullmatch(r"\s*([\w.]+)\s*(?:\((.*)\))?\s*", how)
            if not m:
                raise ValueError(f"figure {self.name!r}: load[{key!r}] = {how!r} is not "
                                 "'module.reader' or 'module.reader(kw, ...)'")
            args = [a.strip() for a in (m.group(2) or key).split(",") if a.strip()]
            out[key] = (m.group(1), args)
        return out

    def modules(self) -> tuple[str, ...]:
        """The modules of the function and its readers (their code versions the rule's)."""
        paths = [self.function, *(r for r, _ in self.loaders().values())]
        return tuple(dict.fromkeys(p.rpartition(".")[0] for p in paths))


def _imported(dotted: str) -> Callable[..., Any]:
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def draw_figure(name: str, kwargs: dict[str, Any], outputs: dict[str, Any]) -> Any:
    """Draw figure ``name`` (what workflow_scripts/figure.py runs): read what ``load``
    says, then ``function(**kwargs, **outputs)``; returns what the function returns."""
    spec = FIGURES[name]
    kw = dict(kwargs)
    for key, (reader, args) in spec.loaders().items():
        values = [kw.pop(a) for a in args]
        kw[key] = _imported(reader)(*values)
    return spec.fn(**kw, **outputs)


def register_figure(spec: FigureSpec) -> FigureSpec:
    """Add a figure at run time (tests, plug-ins); its rule exists only for entries
    registered before the Snakefile is parsed (i.e. in this module)."""
    if spec.name in FIGURES:
        raise ValueError(f"figure {spec.name!r} is already registered ({FIGURES[spec.name].function})")
    module, _, attr = spec.function.rpartition(".")
    if not module or not attr:
        raise ValueError(f"figure {spec.name!r}: function {spec.function!r} must be a dotted "
                         "path module.function")
    spec.loaders()  # refuses a malformed load
    FIGURES[spec.name] = spec
    return spec


#: every figure rule, by rule name (rules/figures.smk makes one rule per entry)
FIGURES: dict[str, FigureSpec] = {s.name: s for s in (
    # ------------------------------------------------------------------ the benchmark
    FigureSpec(
        name="fig1_artifacts",
        paper="benchmark",
        label="Fig. 1",
        function="simart.figures.fig1_artifacts.draw",
        inputs="fig1_inputs",
        kwargs="fig1_kwargs",
        summary="PCSD paper Fig. 1: clean / degraded / restored per modality (first test shard).",
    ),
    FigureSpec(
        name="calibration_table",
        paper="benchmark",
        label="calibration",
        function="simart.reporting.calibration.write_table",
        inputs="calibration_inputs",
        kwargs="calibration_table_kwargs",
        figure=None,
        outputs="calibration_table_outputs",
        mem_mb=4000,
        runtime=120,
        kind="table",
        summary=("Input vs oracle PSNR/SSIM and severity of up to simart.calibration_images "
                 "images per modality, evenly over the splits (a table per image and a "
                 "summary)."),
    ),
    FigureSpec(
        name="calibration_figure",
        paper="benchmark",
        label="calibration",
        function="simart.figures.calibration.draw",
        inputs="calibration_table_csv",
        kwargs="calibration_figure_kwargs",
        figure="simart_calibration",
        caption="""SIMART calibration: how much each modality's degradation leaves to recover, measured on
the images of this run (``results/tables/simart_calibration.csv``, one row per image;
summary in ``results/tables/simart_calibration.md``). **Top**: distributions of the input's
PSNR and of the oracle bound's (the best a method that knows the image's true operator,
noise level and clean spectrum can do: Wiener/MMSE with the true transfer for TEM, SEM and
STEM, Villarrubia erosion by the true tip after oracle denoising for AFM); dashed lines are
the medians, the grey band the target of the median input PSNR. **Bottom**: the oracle's
gain over the input against the image's blur relative to the clean images' typical
feature size, coloured by its signal-to-noise ratio: the spread from easy to hard images.
""",
        subcategory="Calibration",
        load={"table": "pandas.read_csv"},
        summary="The calibration figure: input vs oracle PSNR, oracle gain vs severity.",
    ),
    # ------------------------------------------------------------------ the PCSD paper
    FigureSpec(
        name="pcsd_tables",
        paper="pcsd",
        label="Tables 2, 3, 4, 6",
        function="simart.reporting.pcsd.write_outputs",
        inputs="pcsd_tables_paths",
        kwargs="pcsd_tables_kwargs",
        figure=None,
        outputs="pcsd_tables_outputs",
        subcategory="Tables",
        applies="pcsd_tables_targets",
        kind="table",
        caption_files={"table2_md": "pcsd_table2.rst", "psnr_md": "pcsd_psnr_by_modality.rst",
                       "table3_md": "pcsd_table3.rst", "table4_md": "pcsd_table4.rst",
                       "table6_md": "pcsd_table6.rst"},
        summary=("PCSD paper Tables 2, 3, 4, 6 and per-modality PSNR from the simart cells, the "
                 "trainings' summaries and pcsd's log, beside the paper's claims; "
                 "claims_vs_measured_pcsd.csv."),
    ),
    FigureSpec(
        name="fig2_modality_bars",
        paper="pcsd",
        label="Fig. 2 A/B",
        function="simart.figures.pcsd.draw_modality_bars",
        inputs="pcsd_methods_cells",
        kwargs="pcsd_methods_kwargs",
        caption="""PCSD paper Fig. 2 A/B: mean PSNR (dB) and SSIM of every evaluated method on each SIMART
modality (AFM, TEM, SEM, STEM) of the test split, read from the per-image cell tables
``results/metrics/simart/{modality}/{model}.parquet``. Error bars are the sample standard
deviation (ddof = 1) over the test images where the method ran and the metric is finite,
as in ``simart_metrics.csv``. The dashed line is the unrestored noisy input. Colours give
the method family (grey input, light blue classical, blue CNN, vermillion diffusion, green
GAN). PCSD's training ablations are in Fig. 3 A. A method that did not run on a modality,
or a metric that could not be computed, is written "missing [n]" with the reason under
the figure. Images: {{ snakemake.config.get("image_size", "default") }} px per side.
""",
        subcategory="Fig. 2",
        applies="pcsd_methods",
        summary="PCSD paper Fig. 2 A/B: per-modality PSNR and SSIM of every method (mean ± std).",
    ),
    FigureSpec(
        name="fig2_quality_speed",
        paper="pcsd",
        label="Fig. 2 C",
        function="simart.figures.pcsd.draw_quality_speed",
        inputs="pcsd_methods_cells",
        kwargs="pcsd_methods_kwargs",
        caption="""PCSD paper Fig. 2 C: restoration quality against speed on the SIMART test split, one panel
per modality. y: mean PSNR (dB) over the test images, error bar = sample standard
deviation; x: mean wall time of the restoration step per image (s, log scale), the
``seconds`` column of the cell tables (learned models share a batch's time among its
images; timings depend on the device the evaluation ran on, ``train.device`` =
{{ snakemake.config.get("train", {}).get("device", "auto") }}). Marker and colour give the
method family. The dashed line is the unrestored noisy input (no restoration time).
""",
        subcategory="Fig. 2",
        applies="pcsd_methods",
        summary="PCSD paper Fig. 2 C: PSNR vs inference seconds per image (log x), per modality.",
    ),
    FigureSpec(
        name="fig3_ablations",
        paper="pcsd",
        label="Fig. 3 A",
        function="simart.figures.pcsd.draw_ablations",
        inputs="pcsd_ablation_cells",
        kwargs="pcsd_ablation_kwargs",
        caption="""PCSD paper Fig. 3 A: the full PCSD (vermillion, dashed line) and its training ablations of
the paper's Table 3 (blue: one component removed or weighted to zero in training -- physics
loss and guidance, modality conditioning, cycle consistency, perceptual loss, TV term;
diffusion only; physics only), mean PSNR (dB) and SSIM per SIMART modality on the test
split, error bars = sample standard deviation over the test images. Read from the cell
tables of ``pcsd`` and each ``pcsd_*`` ablation. Missing values say why under the figure.
""",
        subcategory="Fig. 3",
        applies="pcsd_ablation_rows",
        summary="PCSD paper Fig. 3 A: PCSD and its training ablations, PSNR / SSIM per modality.",
    ),
    FigureSpec(
        name="fig3_eta_sweep",
        paper="pcsd",
        label="Fig. 3 B",
        function="simart.figures.pcsd.draw_eta_sweep",
        inputs="pcsd_eta_cells",
        kwargs="pcsd_eta_kwargs",
        caption="""PCSD paper Fig. 3 B: effect of the physics-guidance strength eta at sampling time. The same
trained joint PCSD network is sampled with the eta of each ``evaluate.variants`` entry that
changes only ``eta`` (e.g. ``pcsd_eta0``, ``pcsd_eta0p25``, ``pcsd_eta1``) and with its own
trained eta (``pcsd``, from the model's hyper-parameters: preset plus
``train.models.pcsd.hparams``, marked by the dotted line). Mean PSNR (dB) and SSIM per SIMART
modality on the test split, error bars = sample standard deviation over the test images;
points of different modalities are offset slightly along x for legibility.
""",
        subcategory="Fig. 3",
        applies="pcsd_etas",
        summary="PCSD paper Fig. 3 B: PSNR / SSIM vs PCSD's physics-guidance strength eta.",
    ),
    FigureSpec(
        name="fig3_training_curves",
        paper="pcsd",
        label="Fig. 3 C/D",
        function="simart.figures.pcsd.draw_training_curves",
        inputs="pcsd_logs",
        kwargs="pcsd_logs_kwargs",
        caption="""PCSD paper Fig. 3 C/D: training dynamics from the trainings' ``log.csv``
(``results/models/simart/{group}/{model}/log.csv``). C1: the joint PCSD's total training loss
and its logged terms (diffusion, physics, cycle, perceptual, TV) per logged step, log
scale. C2: the training objective of a few baselines (each model's own loss, so only the
shapes compare); the baselines train one model per SIMART modality, the line is the mean
over those trainings (thick) and each training is a thin line. D: validation PSNR (dB) on the first
``train.defaults.val_images`` validation images of each training's group (PCSD: all four
modalities together), same averaging. Training steps:
{{ snakemake.config.get("train", {}).get("defaults", {}).get("steps", "default") }}.
""",
        subcategory="Fig. 3",
        applies="pcsd_logs",
        summary="PCSD paper Fig. 3 C/D: training loss and validation PSNR vs step (log.csv).",
    ),
    FigureSpec(
        name="fig4_cross_modal",
        paper="pcsd",
        label="Fig. 4",
        function="simart.figures.pcsd.draw_cross_modal",
        inputs="pcsd_cross_cells",
        kwargs="pcsd_cross_kwargs",
        caption="""PCSD paper Fig. 4: cross-modal generalisation of PCSD on the SIMART test split. Rows: PCSD
trained on one modality only (``pcsd_from_AFM`` ... ``pcsd_from_STEM``, the cross-modal
study of ``evaluate.cross_modal``) or on all four jointly (``pcsd``); columns: the modality
it restores. A: mean PSNR (dB) over the test images. B: mean per-image PSNR difference to
the unrestored noisy input (paired by image). C: difference to the model trained on the
tested modality (the diagonal of A). Grey cells are missing, with the reason under the
figure. Study rows are scored on the first ``evaluate.study_test_shards`` test shards
(all when unset).
""",
        subcategory="Fig. 4",
        applies="pcsd_cross_rows",
        summary="PCSD paper Fig. 4: PCSD trained on one modality (or all), PSNR on each modality.",
    ),
    FigureSpec(
        name="fig5_qualitative",
        paper="pcsd",
        label="Figs. 5/7",
        function="simart.figures.pcsd_qualitative.draw",
        inputs="fig5_inputs",
        kwargs="fig5_kwargs",
        caption="""PCSD paper Figs. 5 and 7: qualitative comparison with absolute error maps. For each SIMART
modality (rows, bold label) one test image (index ``figures.example_index`` of the first test
shard): the clean reference, the degraded input and each method's restoration on a fixed grey
scale 0–1, and under each image its absolute error map ``|image − clean|`` on one colour scale
per modality (colour bar at the right; saturates above the 99.5th percentile of the row's
errors). The PSNR under each image and the MAE under each error map are read from the
method's per-image cell table (``results/metrics/simart/{modality}/{model}.parquet``), not
recomputed. A method that does not apply to a modality (e.g. Wiener on AFM, tip erosion
outside AFM) shows "missing" with the reason recorded in its cell table. Methods: the paper's
Fig. 5 list (Wiener, BM3D, CARE, CycleGAN, U-Net, Noise2Noise, PCSD) where evaluated in this
run; images of {{ snakemake.config["image_size"] }}² px. The SIMART source images are shared
between modalities, so the same clean image can appear in every row. On the fixed grey scale
TEM's low-contrast phase images look flat; their differences show in the error maps.
""",
        subcategory="Qualitative comparison",
        applies="fig5_models",
        summary=("PCSD paper Figs. 5/7: restorations of one test image per modality with error "
                 "maps."),
    ),
    FigureSpec(
        name="fig6_statistics",
        paper="pcsd",
        label="Fig. 6",
        function="simart.figures.pcsd_stats.draw",
        inputs="fig6_inputs",
        kwargs="fig6_kwargs",
        outputs="fig6_outputs",
        caption="""PCSD paper Fig. 6: statistics of every method against the unrestored input on the SIMART test
split. **A**: the paired t-test (the paper's test) per modality and metric, Holm-corrected over
the methods compared on one metric, read from ``results/tables/simart_stats.csv``; colour is
log10(1/p), positive (orange) where the method's mean is better than the input's and negative
(purple) where worse; the text gives the stars (``***`` p < .001, ``**`` p < .01, ``*`` p < .05,
``ns``); grey "missing" cells are comparisons the statistics table could not make (reasons
in the footnote at the bottom). **B**: per-image PSNR improvement over the input (ΔPSNR, paired by test image)
for each method and modality; boxes show quartiles, points the single images. **C**: ΔPSNR as
a function of artifact severity for Wiener, U-Net and PCSD (where evaluated): against the
input's own PSNR (all modalities together; lower input PSNR = more severe) and, per
modality, against the image's blur in pixels recorded by the dataset builder (``blur_px``:
AFM tip reach at half height, TEM first Thon ring period, SEM beam width, STEM probe width);
lines are least-squares fits. The per-image values drawn in B and C are in
``results/tables/pcsd_fig6_improvements.csv``. The paper's panel D (consistency of expert
ratings) has no counterpart: this benchmark has no expert ratings.
""",
        subcategory="Statistics",
        applies="fig6_applies",
        load={"stats": "pandas.read_csv", "cells": "simart.provenance.read_tables"},
        summary="PCSD paper Fig. 6: p-values vs the input, per-image ΔPSNR, ΔPSNR vs severity.",
    ),
    # ------------------------------------------------------------------ the PINNED paper
    FigureSpec(
        name="pinned_tables",
        paper="pinned",
        label="noise-level curves (tables)",
        function="simart.reporting.pinned.write_tables",
        inputs="pinned_cells",
        kwargs="pinned_tables_kwargs",
        figure=None,
        outputs="pinned_tables_outputs",
        applies="pinned_targets",
        kind="table",
        summary=("The PINNED paper: mean ± std of PSNR/SSIM/FSC/EPI per material x CDN level x "
                 "model, the paper's prose statements checked, and its (empty) claims table."),
    ),
    FigureSpec(
        name="pinned_noise_curves",
        paper="pinned",
        label="Figs. 3/5",
        function="simart.figures.pinned.draw",
        inputs="pinned_curves",
        kwargs="pinned_figure_kwargs",
        caption="""The PINNED paper: restoration quality against the Composite Degradation Noise (CDN) level on the
``stem_lattice`` test split, one column per test material (the paper's validation materials)
and one row per metric of the paper: PSNR (dB), SSIM, Fourier spectrum consistency (FSC) and
the paper's edge preservation index EPI = ‖∇x̂‖₁/‖∇x‖₁ (1 = best; grey line). One line per
model, the dashed black line is the unrestored input; points are means over the test images
of that material and level, bars ± one standard deviation (models slightly offset along x
to stay readable). Drawn only from ``results/tables/pinned_noise_curves.csv`` (built from the
per-level cell tables); a panel without values says "missing" with the reason. The paper shows
these curves only as plots (no numbers to compare); its prose statements about them are
checked in ``results/tables/pinned_noise_curves_trends.csv``. Images of
{{ snakemake.config["image_size"] }}² px unless ``stem_lattice.image_size`` says otherwise.
""",
        subcategory="Noise-level curves",
        applies="pinned_cells",
        load={"curves": "simart.reporting.pinned.read_curves"},
        summary=("PINNED paper Figs. 3/5 analogue: metric vs CDN level, one panel per metric x "
                 "material."),
    ),
    # ------------------------------------------------------------------ the PI-DDPM paper
    FigureSpec(
        name="piddpm_tables",
        paper="piddpm",
        label="Table 1",
        function="simart.reporting.piddpm.write_tables",
        inputs="piddpm_cells",
        kwargs="piddpm_tables_kwargs",
        figure=None,
        outputs="piddpm_tables_outputs",
        applies="piddpm_targets",
        kind="table",
        summary=("The PI-DDPM paper: PSNR / MS-SSIM / NRMSE of PI-DDPM, DDPM, U-Net (RL: simart "
                 "only) on lm, and the paper's prose orderings checked on the same images."),
    ),
    FigureSpec(
        name="fig_piddpm_eta_ablation",
        paper="piddpm",
        label="Fig. 5 / Sup. Fig. 1",
        function="simart.figures.piddpm.draw",
        inputs="piddpm_eta_cells",
        kwargs="piddpm_eta_kwargs",
        figure="piddpm_eta_ablation",
        caption="""The PI-DDPM paper, Fig. 5 / Sup. Fig. 1: the guidance weight η and the regulariser R.

Each point is one PI-DDPM evaluation row on the ``lm`` test split (rows: modes widefield and
confocal; columns: PSNR, MS-SSIM, NRMSE = RMSE / (max − min) of the clean image), mean ± std over
the test images. Filled markers are trained models (η enters the training loss and the sampler),
open markers are sampling variants (``evaluate.variants``: the same network sampled with another η).
The dashed black line is ``pi_ddpm_plain`` (the paper's DDPM, no physics term); the dotted vertical
line marks ``pi_ddpm``'s configured η. Where only one η or one regulariser was evaluated the panel
says "η sweep not run" / "R = L2 not run" rather than drawing a curve. Below 176 px MS-SSIM with 5
scales is undefined and the 3-scale ``ms_ssim_3`` stands in (the axis says so).

Run: {{ snakemake.config["lm"]["images_per_mode"]["test"] }} test images per mode,
image size {{ snakemake.config["lm"]["image_size"] or snakemake.config["image_size"] }} px.
""",
        subcategory="PI-DDPM eta ablation",
        applies="piddpm_eta_rows",
        load={"cells": "simart.evaluation.aggregate.cells_by_subset"},
        summary=("PI-DDPM paper Fig. 5: PI-DDPM rows (trained or sampling variants) against eta "
                 "and R."),
    ),
    # ------------------------------------------------------------------ the PDA-Net paper
    FigureSpec(
        name="pdanet_tables",
        paper="pdanet",
        label="Tables I/II",
        function="simart.reporting.pdanet.write_tables",
        inputs="pdanet_cells",
        kwargs="pdanet_tables_kwargs",
        figure=None,
        outputs="pdanet_tables_outputs",
        applies="pdanet_targets",
        kind="table",
        summary=("PDA-Net paper Tables I and II (stm_cu111 blurry / experimental) beside the "
                 "paper's claims, with a step-by-step check of the paper's ablation ordering."),
    ),
    FigureSpec(
        name="fig_pdanet_fig3",
        paper="pdanet",
        label="Fig. 3",
        function="simart.figures.pdanet.draw",
        inputs="pdanet_fig3_paths",
        kwargs="pdanet_fig3_kwargs",
        figure="pdanet_fig3_simulated",
        caption="""The PDA-Net paper, Fig. 3: the simulated domain (``stm_cu111/blurry``).

Columns: the first test images of the first test shard. Rows: (a) the simulated clean Cu(111) LDOS
map, (b) the simulated blurry STM map (the input), (c)–(f) the output of each row of the paper's
ablation — CycleGAN (``cyclegan``), CycleGAN+DA (``pdanet_da``), CycleGAN+DA+WS (``pdanet_da_ws``)
and PDA-Net (``pdanet``). Under each panel: its PSNR and SSIM against the clean map, read from the
benchmark cell tables. A row that was not evaluated in this configuration is drawn as
"missing: reason". Grey scale 0–1 (normalised LDOS) in every panel.

Run: {{ snakemake.config["stm_cu111"]["images_per_domain"]["test"] }} test images per domain,
{{ snakemake.config["stm_cu111"]["images_per_domain"]["train"] }} training maps per domain.
""",
        subcategory="Fig. 3 (simulated domain)",
        applies="pdanet_ablation_rows",
        summary=("PDA-Net paper Fig. 3: clean / blurry / each ablation row's output (simulated "
                 "domain)."),
    ),
    FigureSpec(
        name="fig_pdanet_fig4",
        paper="pdanet",
        label="Fig. 4",
        function="simart.figures.pdanet.draw",
        inputs="pdanet_fig4_paths",
        kwargs="pdanet_fig4_kwargs",
        figure="pdanet_fig4_experimental",
        caption="""The PDA-Net paper, Fig. 4: the experimental domain (``stm_cu111/experimental``).

The paper's lab STM images are not available; our simulated experimental-like domain (another noise
family, tip changes, steps) stands in. Rows: (a) the experimental-like input, (b)–(e) the output of
CycleGAN, CycleGAN+DA, CycleGAN+DA+WS and PDA-Net; under each panel its BRISQUE and PIQE (no
reference, as in the paper's Table II) from the cell tables. The last row, labelled separately, is
our simulated clean map of the same scene, which the paper does not have. Missing rows or metrics
are drawn as "missing: reason". Grey scale 0–1 in every panel.

Run: {{ snakemake.config["stm_cu111"]["images_per_domain"]["test"] }} test images per domain.
""",
        subcategory="Fig. 4 (experimental-like domain)",
        applies="pdanet_ablation_rows",
        summary="PDA-Net paper Fig. 4: experimental-like inputs and the ablation rows' outputs.",
    ),
    FigureSpec(
        name="pdanet_claims",
        paper="pdanet",
        label="Tables I/II claims",
        function="simart.reporting.pdanet_claims.write_claims",
        inputs="pdanet_claims_inputs",
        kwargs="pdanet_claims_kwargs",
        figure=None,
        kind="table",
        outputs="pdanet_claims_outputs",
        applies="pdanet_cells",
        summary=("The PDA-Net paper's claimed Table I/II numbers beside ours "
                 "(claims_vs_measured_pdanet.csv)."),
    ),
    # ------------------------------------------------------------------ the conditional-DDPM paper
    FigureSpec(
        name="condddpm_tables",
        paper="condddpm",
        label="DDPM-avg and uncertainty (tables)",
        function="simart.reporting.condddpm.write_tables",
        inputs="condddpm_inputs",
        kwargs="condddpm_tables_kwargs",
        figure=None,
        outputs="condddpm_tables_outputs",
        applies="condddpm_targets",
        kind="table",
        summary=("The conditional-DDPM paper: DDPM-avg vs a single sample and vs N, uncertainty "
                 "on edges vs flat."),
    ),
    FigureSpec(
        name="fig_condddpm_distributions",
        paper="condddpm",
        label="Figs. 1A-4A, S3",
        function="simart.figures.condddpm.draw_distributions",
        inputs="condddpm_cells_and_curve",
        kwargs="condddpm_distributions_kwargs",
        figure="condddpm_distributions",
        outputs="condddpm_distributions_outputs",
        caption="""The conditional-DDPM paper, Figs. 1A–4A and S3: metric distributions per method on ``lm``.

Rows: modes (widefield, confocal); columns: MAE, PSNR, SSIM, MS-SSIM, LPIPS, NRMSE (RMSE / mean of
the clean image, the paper's eq. 9) and Pearson r. Each box is one method's per-image values on the
test split (points: the images): the unrestored input (Raw), Noise2Void, pix2pix, UNet-RCAN, CARE,
one sample of the conditional DDPM (DDPM; scored for PSNR and SSIM only) and the mean of its samples
(DDPM-avg, ``cond_ddpm``). Stars: Mood's median test against DDPM-avg (upper row) and against one DDPM
sample (lower row, grey), Holm-corrected within a panel, computed from the cell tables
(``results/tables/condddpm_distributions_stats.csv``); dashed line: the median of the best method.
Missing metrics (e.g. LPIPS without its backbone, 5-scale MS-SSIM below 176 px) are marked as such.

Run: {{ snakemake.config["lm"]["images_per_mode"]["test"] }} test images per mode.
""",
        subcategory="metric distributions",
        applies="condddpm_rows",
        load={"cells": "simart.reporting.condddpm_claims.load_cells(cell_paths, curve_csv)"},
        summary=("Conditional-DDPM paper Figs. 1A-4A/S3: metric distributions per method on lm, "
                 "Mood's-test stars against DDPM-avg and one DDPM sample (computed from the "
                 "cells)."),
    ),
    FigureSpec(
        name="fig_condddpm_ddpm_avg",
        paper="condddpm",
        label="Fig. S1",
        function="simart.figures.condddpm.draw_ddpm_avg",
        inputs="condddpm_curve",
        kwargs="condddpm_ddpm_avg_kwargs",
        figure="condddpm_ddpm_avg",
        caption="""The conditional-DDPM paper, Fig. S1: DDPM-avg against the number of averaged samples.

PSNR and SSIM against the clean image of the mean of the first k samples of ``cond_ddpm`` (k = 1 is
one sample), mean over the test images of each mode with a ± 1 std band, from
``results/tables/condddpm_cond_ddpm_curve.csv``. The paper averages N = 15 samples of a 200-step DDPM;
our sampler and N are the configuration's (see the figure title and condddpm_cond_ddpm.md).

Run: {{ snakemake.config["lm"]["images_per_mode"]["test"] }} test images per mode.
""",
        subcategory="DDPM-avg vs number of samples",
        applies="condddpm_inputs",
        load={"curve": "pandas.read_csv"},
        summary="Conditional-DDPM paper Fig. S1: DDPM-avg of the first k samples against k.",
    ),
    FigureSpec(
        name="fig_condddpm_uncertainty",
        paper="condddpm",
        label="Fig. S2",
        function="simart.figures.condddpm.draw_uncertainty",
        inputs="condddpm_uncertainty_paths",
        kwargs="condddpm_uncertainty_kwargs",
        figure="condddpm_uncertainty_maps",
        caption="""The conditional-DDPM paper, Fig. S2: uncertainty maps.

For the first test images of each mode (first test shard): the input, DDPM-avg (the mean of the
samples), the clean image, the pixelwise standard deviation over the samples, the pixelwise entropy
over the samples (nats, values quantised to 256 levels as in the paper's eq. 16; with N samples it
is at most log N, reached wherever all samples fall in different levels) and the absolute error of
DDPM-avg. Images in grey 0–1; maps share one colour scale per column (magma), with its
colour bar below.

Run: {{ snakemake.config["lm"]["images_per_mode"]["test"] }} test images per mode.
""",
        subcategory="uncertainty maps",
        applies="condddpm_inputs",
        summary=("Conditional-DDPM paper Fig. S2: input, DDPM-avg, clean, std, entropy and error "
                 "maps."),
    ),
    FigureSpec(
        name="condddpm_claims",
        paper="condddpm",
        label="claimed medians",
        function="simart.reporting.condddpm_claims.write_claims",
        inputs="condddpm_cells_and_curve",
        kwargs="condddpm_claims_kwargs",
        figure=None,
        kind="table",
        outputs="condddpm_claims_outputs",
        applies="condddpm_rows",
        summary=("The conditional-DDPM paper's claimed medians beside ours "
                 "(claims_vs_measured_condddpm.csv)."),
    ),
    # ------------------------------------------------------------------ every paper
    FigureSpec(
        name="reproduction_report",
        paper="benchmark",
        label="claims vs measured",
        function="simart.reporting.reproduction.write_report_with_hardware",
        inputs="reproduction_inputs",
        kwargs="reproduction_kwargs",
        figure=None,
        outputs="reproduction_report_outputs",
        applies="claims_parts",
        kind="report",
        summary="Every claimed number of the papers beside our measurement (Markdown + CSV).",
    ),
)}
