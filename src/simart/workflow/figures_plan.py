"""The tables and figures of a config: what each figure/table rule reads, the captions'
run descriptions, and the ONE list of figure/table targets (:meth:`FigurePlan.figure_targets`,
read by rules ``all`` and ``figures``).

The figures are specs (simart.specs.figures): each entry names the methods here that give
its inputs (``inputs``), the keyword arguments of its drawing function (``kwargs``), its
non-figure outputs (``outputs``) and whether the config draws it (``applies``); the
``figure_*`` methods below resolve an entry, and :meth:`FigurePlan.spec_targets` lists the
outputs of the applicable ones. Paper row lists are named after the paper (``pcsd_*``,
``PIDDPM_MODELS`` ...).

A figure or table is a target only when the config evaluates what it draws (e.g. the PI-DDPM paper's
table needs ``pi_ddpm``, ``pi_ddpm_plain`` or ``unet`` evaluated on ``lm``); its rule exists
whatever the config (asking for it by name draws the rows that are there). Computed from the
config alone (no Snakemake, no include order); every path under the plan's results root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from simart.config import LEARNED_MODELS, Config
from simart.specs.figures import CATEGORIES, FIGURES, FigureSpec
from simart.specs.models import model_applies
from simart.workflow.checks import shard_outputs, training_outputs
from simart.workflow.plan import DATASET_NAMES, Plan, flat_paths

#: the paper's Fig. 5 methods (its Fig. 7: Wiener, BM3D, U-Net, PCSD, a subset)
PCSD_FIG5_MODELS = ["wiener", "bm3d", "care", "cyclegan", "unet", "n2n", "pcsd"]
#: Fig. 6 panel C: one classical method, one CNN and PCSD, where evaluated
PCSD_FIG6_HIGHLIGHT = ["wiener", "unet", "pcsd"]
PCSD_FIG6_METRICS = ["psnr", "ssim", "epi_corr"]
#: rows of the PI-DDPM paper's table, the PDA-Net paper's ablation, the conditional-DDPM paper's distributions
PIDDPM_MODELS = ("pi_ddpm", "pi_ddpm_plain", "unet", "richardson_lucy", "noisy")
PDANET_ABLATION = ("cyclegan", "pdanet_da", "pdanet_da_ws", "pdanet")
CONDDPM_MODELS = ("noisy", "n2v", "pix2pix", "unet_rcan", "care", "cond_ddpm")
#: names of the PCSD paper's tables (simart.reporting.pcsd.OUTPUTS)
PCSD_TABLES = ("table2", "psnr", "table3", "table4", "table6")
#: report category of the real-data stage (the others: simart.specs.figures.CATEGORIES)
REAL_CATEGORY = "Real micrographs"
#: the report's ``table`` label of a Markdown table (its file stem) where its spec's label
#: does not say which table it is (a spec writing several)
TABLE_LABELS = {
    "simart_metrics": "metrics per cell (mean ± std, median)",
    "simart_stats": "statistics against the reference",
    "simart_calibration": "calibration",
    "pcsd_table2": "Table 2",
    "pcsd_psnr_by_modality": "PSNR per modality",
    "pcsd_table3": "Table 3",
    "pcsd_table4": "Table 4",
    "pcsd_table6": "Table 6",
    "reproduction_report": "claims vs measured (all papers)",
    "real_noref": "no-reference measures",
}


@dataclass(frozen=True)
class ReportTable:
    """One table of ``snakemake --report``: the Markdown table it shows (rule report_table
    renders it as a web page: the report shows HTML in its page, Markdown only as a
    download), where it goes (category, subcategory), its ``table`` label and its caption
    file under report/."""

    source: str
    category: str
    label: str
    caption: str
    subcategory: str = "Tables"


class FigurePlan(Plan):
    """A :class:`~simart.workflow.plan.Plan` with the inputs, outputs and captions of the
    figure and table rules (rules/figures.smk, one per entry of simart.specs.figures)."""

    # ------------------------------------------------------------------ helpers
    def figure_files(self, name: str) -> list[str]:
        """results/figures/{name}.{ext} per figures.formats."""
        return [f"{self.root}/figures/{name}.{ext}" for ext in self.cfg.figures.formats]

    def trained_hparams(self, model: str) -> dict[str, Any]:
        """The architecture preset's hyper-parameters of ``model`` with train.models's."""
        from simart.specs.hparams import DEFAULT_HPARAMS, PAPER_HPARAMS

        preset = PAPER_HPARAMS if self.cfg.train.hparams_preset == "paper" else DEFAULT_HPARAMS
        return {**preset[model], **self.cfg.train.hparams(model)}

    def training_steps(self, rows: list[str]) -> dict[str, int]:
        """{learned model: training steps} of the learned models among ``rows``."""
        return {m: self.cfg.train.settings(m)["steps"] for m in rows
                if self.is_learned(m) and m in LEARNED_MODELS}

    def simart_cells(self, rows: list[str]) -> dict[str, dict[str, str]]:
        """{modality: {row: cell table}} of the scored SIMART modalities (none when simart
        is not evaluated)."""
        if "simart" not in self.views:
            return {}
        return {mod: {m: self.cell("simart", mod, m) for m in rows}
                for mod in self.views["simart"].eval_subsets}

    def simart_rows(self) -> list[str]:
        """Evaluation rows on simart (empty when simart is not evaluated)."""
        return self.cell_models("simart") if "simart" in self.views else []

    def simart_models(self) -> list[str]:
        """Models (not study rows) evaluated on simart."""
        return [m for m in self.simart_rows() if m in self.models]

    def first_shard_paths(self, models: list[str], cells: list[str]) -> dict[str, Any]:
        """{shards, predictions, cell_tables} of the first SIMART test shard per modality
        (Figs. 1 and 5/7)."""
        r = self.root
        return {
            "shards": {m: f"{r}/simart/shards/{m}/test/0000.h5" for m in self.modalities},
            "predictions": {m: {k: f"{r}/predictions/simart/{k}/0000.h5" for k in models}
                            for m in self.modalities},
            "cell_tables": {m: {k: self.cell("simart", m, k) for k in cells}
                            for m in self.modalities},
        }

    # ------------------------------------------------------------------ aggregate, Fig. 1
    def fig1_models(self) -> list[str]:
        """Columns of Fig. 1: figures.fig1_models that run on simart."""
        return [m for m in self.cfg.figures.fig1_models
                if m in self.models and self.applies(m, "simart")]

    def fig1_inputs(self) -> dict[str, Any]:
        """Paths Fig. 1 reads: first test shard, its predictions and the cell tables."""
        models = self.fig1_models()
        return self.first_shard_paths(models, models)

    def fig1_kwargs(self) -> dict[str, Any]:
        fig = self.cfg.figures
        return {**self.fig1_inputs(), "models": self.fig1_models(),
                "example_index": fig.example_index, "dpi": fig.dpi}

    # ------------------------------------------------------------------ calibration
    def calibration_targets(self) -> list[str]:
        """The calibration table's target (its figure: spec calibration_figure)."""
        return [f"{self.root}/tables/simart_calibration.md"]

    def calibration_table_csv(self) -> str:
        return f"{self.root}/tables/simart_calibration.csv"

    def calibration_inputs(self) -> list[str]:
        """Every shard of the run (the calibration samples images of each split)."""
        return shard_outputs(self.all_shards())

    def calibration_table_kwargs(self) -> dict[str, Any]:
        return {"shards": self.simart_shards_by_modality(),
                "n_max": self.cfg.simart.calibration_images,
                "data_range": self.cfg.evaluate.data_range,
                "context": self.calibration_context()}

    def calibration_table_outputs(self) -> dict[str, str]:
        return {"csv_path": self.calibration_table_csv(),
                "md_path": f"{self.root}/tables/simart_calibration.md"}

    def calibration_figure_kwargs(self) -> dict[str, Any]:
        return {"table": self.calibration_table_csv(), "dpi": self.cfg.figures.dpi,
                "title": self.calibration_title()}

    def calibration_context(self) -> str:
        sim = self.cfg.simart
        return (f"Run: preset `{sim.param_preset}`, {self.cfg.image_size}² px, "
                f"at most {sim.calibration_images} images per modality.")

    def calibration_title(self) -> str:
        return (f"SIMART calibration ({self.cfg.simart.param_preset}, "
                f"{self.cfg.image_size}² px): input vs oracle bound, and gain vs severity")

    # ------------------------------------------------------------------ the PCSD paper tables
    def pcsd_tables_outputs(self) -> dict[str, str]:
        """The PCSD paper tables by output name (names of simart.reporting.pcsd.OUTPUTS)."""
        t = f"{self.root}/tables/pcsd"
        out = {f"{n}_{k}": f"{t}_{n if n != 'psnr' else 'psnr_by_modality'}.{k}"
               for n in PCSD_TABLES for k in ("md", "csv")}
        out["claims"] = f"{self.root}/tables/claims_vs_measured_pcsd.csv"
        return out

    def pcsd_speed_variants(self) -> dict[str, dict[str, Any]]:
        """{name: {model, sampling}} of the evaluated variants whose cost differs (Table 6)."""
        from simart.reporting.pcsd import is_speed_variant

        return {k: {"model": v.model, "sampling": dict(v.sampling)}
                for k, v in self.cfg.evaluate.active_variants().items()
                if is_speed_variant(v.sampling) and self.applies(k, "simart")}

    def _simart_learned(self) -> list[str]:
        return [m for m in self.models if self.is_learned(m) and self.applies(m, "simart")]

    def pcsd_tables_paths(self) -> dict[str, Any]:
        """{cells: {row: {modality: parquet}}, summaries: {model: {group: json}}, pcsd_log}."""
        if "simart" not in self.views:
            return {}
        v = self.views["simart"]
        variants = self.cfg.evaluate.active_variants()
        speed = self.pcsd_speed_variants()
        rows = [m for m in self.cell_models("simart") if m not in variants or m in speed]
        learned = self._simart_learned()
        r = self.root
        out: dict[str, Any] = {
            "cells": {m: {s: self.cell("simart", s, m) for s in v.eval_subsets} for m in rows},
            "summaries": {m: {g: f"{r}/models/simart/{g}/{m}/summary.json"
                              for g in v.groups_for(m)} for m in learned},
        }
        if "pcsd" in learned:
            out["pcsd_log"] = f"{r}/models/simart/{next(iter(v.groups_for('pcsd')))}/pcsd/log.csv"
        return out

    def pcsd_run(self) -> dict[str, Any]:
        """What the config ran (simart.reporting.pcsd.RunInfo), from the config only."""
        cfg = self.cfg
        return {
            "image_size": cfg.image_size,
            "preset": cfg.train.hparams_preset,
            "steps": {m: cfg.train.settings(m)["steps"] for m in self._simart_learned()},
            "test_images": cfg.simart.images_per_modality.test,
            "models": [m for m in self.models if self.applies(m, "simart")],
            "variants": self.pcsd_speed_variants(),
            "cross_modal": "pcsd" in cfg.evaluate.cross_modal and "pcsd" in self.models,
            "modalities": list(self.views["simart"].eval_subsets)
            if "simart" in self.views else [],
        }

    def pcsd_context(self) -> str:
        """What was run, for the head of every PCSD-paper table (from the config only)."""
        run = self.pcsd_run()
        steps = ", ".join(f"{m} {n}" for m, n in run["steps"].items()) or "none"
        shards = self.cfg.evaluate.study_test_shards
        return (f"Run: `simart` test split, {run['test_images']} images per modality of "
                f"{run['image_size']}² px, `{run['preset']}` architecture preset; training "
                f"steps: {steps}"
                + (f"; variants and cross-modal rows on the first {shards} test shard(s)"
                   if shards else "")
                + ". The paper trains on SIMART-1M at its own image size for far longer: "
                "compare orderings and directions before absolute values.")

    def pcsd_tables_targets(self) -> list[str]:
        return list(self.pcsd_tables_outputs().values()) if "simart" in self.views else []

    def pcsd_tables_kwargs(self) -> dict[str, Any]:
        return {"paths": self.pcsd_tables_paths(), "run": self.pcsd_run(),
                "context": self.pcsd_context()}

    # ------------------------------------------------------------------ the PCSD paper Figs. 2-4
    def pcsd_methods(self) -> list[str]:
        """Fig. 2: every evaluated model on simart but PCSD's training ablations (Fig. 3 A)."""
        from simart.figures.rows import pcsd_ablations

        rows = self.simart_rows()
        ablations = set(pcsd_ablations(rows))
        return [m for m in self.models if m in rows and m not in ablations]

    def pcsd_ablation_rows(self) -> list[str]:
        """Fig. 3 A: pcsd and its evaluated ablations (none unless both are evaluated)."""
        from simart.figures.rows import pcsd_ablations

        rows = self.simart_rows()
        ablations = pcsd_ablations(rows)
        return ["pcsd", *ablations] if "pcsd" in rows and ablations else []

    def pcsd_etas(self) -> dict[str, float]:
        """Fig. 3 B: {row: eta} of pcsd (its trained eta: preset + train.models.pcsd.hparams)
        and its variants that only change eta; empty with fewer than two such rows."""
        from simart.figures.rows import eta_sweep_rows

        rows = self.simart_rows()
        if "pcsd" not in rows:
            return {}
        base = self.trained_hparams("pcsd")["eta"]
        variants = {n: (v.model, dict(v.sampling))
                    for n, v in self.cfg.evaluate.active_variants().items() if n in rows}
        etas = eta_sweep_rows(variants, base, "pcsd")
        return etas if len(etas) > 1 else {}

    def pcsd_logs(self) -> dict[str, dict[str, str]]:
        """Fig. 3 C/D: {model: {group: log.csv}} of pcsd (joint) and a few baselines."""
        from simart.figures.rows import curve_baselines

        rows = self.simart_rows()
        if "pcsd" not in rows:
            return {}
        v = self.views["simart"]
        models = ["pcsd", *curve_baselines([m for m in self.learned_models() if m in rows])]
        return {m: {g: f"{self.root}/models/simart/{g}/{m}/log.csv" for g in v.groups_for(m)}
                for m in models}

    def pcsd_cross_rows(self) -> dict[str, str]:
        """Fig. 4: {training label: row}: pcsd_from_<modality> per modality, and joint pcsd."""
        rows = self.simart_rows()
        if "pcsd" not in self.cfg.evaluate.cross_modal or "pcsd" not in rows:
            return {}
        out = {mod: f"pcsd_from_{mod}" for mod in self.modalities if f"pcsd_from_{mod}" in rows}
        return {**out, "joint": "pcsd"} if out else {}

    def pcsd_cross_cells(self) -> dict[str, dict[str, str]]:
        rows = list(self.pcsd_cross_rows().values())
        return self.simart_cells(rows + (["noisy"] if "noisy" in self.simart_rows() else []))

    def pcsd_methods_cells(self) -> dict[str, dict[str, str]]:
        return self.simart_cells(self.pcsd_methods())

    def pcsd_methods_kwargs(self) -> dict[str, Any]:
        """Fig. 2 A/B and C: {cells, models, dpi}."""
        return {"cells": self.pcsd_methods_cells(), "models": self.pcsd_methods(),
                "dpi": self.cfg.figures.dpi}

    def pcsd_ablation_cells(self) -> dict[str, dict[str, str]]:
        return self.simart_cells(self.pcsd_ablation_rows())

    def pcsd_ablation_kwargs(self) -> dict[str, Any]:
        return {"cells": self.pcsd_ablation_cells(), "models": self.pcsd_ablation_rows(),
                "dpi": self.cfg.figures.dpi}

    def pcsd_eta_cells(self) -> dict[str, dict[str, str]]:
        return self.simart_cells(list(self.pcsd_etas()))

    def pcsd_eta_kwargs(self) -> dict[str, Any]:
        return {"cells": self.pcsd_eta_cells(), "etas": self.pcsd_etas(),
                "dpi": self.cfg.figures.dpi}

    def pcsd_logs_kwargs(self) -> dict[str, Any]:
        return {"logs": self.pcsd_logs(), "dpi": self.cfg.figures.dpi}

    def pcsd_cross_kwargs(self) -> dict[str, Any]:
        return {"cells": self.pcsd_cross_cells(), "rows": self.pcsd_cross_rows(),
                "dpi": self.cfg.figures.dpi}

    # ------------------------------------------------------------------ the PCSD paper Figs. 5-7
    def fig5_models(self) -> list[str]:
        """Methods of Figs. 5/7: figures.fig5_models if the config has it, else the paper's
        list; those evaluated on simart, PCSD added when evaluated (the input is its own
        column)."""
        evaluated = self.simart_models()
        wanted = self.cfg.figures.fig5_models or PCSD_FIG5_MODELS
        out = [m for m in dict.fromkeys(wanted) if m in evaluated and m != "noisy"]
        return out + (["pcsd"] if "pcsd" in evaluated and "pcsd" not in out else [])

    def fig5_inputs(self) -> dict[str, Any]:
        """Paths Figs. 5/7 read: first test shard per modality, its predictions, the cells."""
        models = self.fig5_models()
        return self.first_shard_paths(
            models, models + (["noisy"] if "noisy" in self.simart_models() else []))

    def fig5_kwargs(self) -> dict[str, Any]:
        fig = self.cfg.figures
        return {**self.fig5_inputs(), "models": self.fig5_models(),
                "example_index": fig.example_index, "dpi": fig.dpi}

    def fig6_models(self) -> list[str]:
        """Rows of Fig. 6: figures.fig6_models if the config has it, else every model
        evaluated on simart except the reference and PCSD's ablations (Table 3 has its own
        figure)."""
        ref = self.cfg.stats.reference_model
        evaluated = self.simart_models()
        wanted = self.cfg.figures.fig6_models or [
            m for m in evaluated if m == "pcsd" or not m.startswith("pcsd")]
        return [m for m in dict.fromkeys(wanted) if m in evaluated and m != ref]

    def fig6_inputs(self) -> dict[str, Any]:
        """{stats: the statistics table, cells: {modality: {model: cell}}} (reference
        included)."""
        models = self.fig6_models() + [self.cfg.stats.reference_model]
        return {"stats": self.stats_outputs()["csv"],
                "cells": {mod: {m: self.cell("simart", mod, m) for m in models}
                          for mod in self.modalities}}

    def fig6_kwargs(self) -> dict[str, Any]:
        """Fig. 6: the statistics table and the cells (read by the spec's ``load``)."""
        return {**self.fig6_inputs(), "models": self.fig6_models(),
                "metrics": PCSD_FIG6_METRICS, "highlight": PCSD_FIG6_HIGHLIGHT,
                "reference": self.cfg.stats.reference_model, "dpi": self.cfg.figures.dpi}

    def fig6_outputs(self) -> dict[str, str]:
        return {"improvements_csv": f"{self.root}/tables/pcsd_fig6_improvements.csv"}

    def fig6_applies(self) -> bool:
        return bool(self.fig6_models()) and self.cfg.stats.reference_model in self.simart_models()

    # ------------------------------------------------------------------ the PINNED paper
    def pinned_outputs(self) -> dict[str, str]:
        base = f"{self.root}/tables/pinned_noise_curves"
        return {"curves": f"{base}.csv", "md": f"{base}.md", "trends": f"{base}_trends.csv",
                "claims": f"{self.root}/tables/claims_vs_measured_pinned.csv"}

    def pinned_context(self) -> str:
        """What was run, for the tables' header (from the config only; empty when
        stem_lattice is not evaluated)."""
        if "stem_lattice" not in self.views:
            return ""
        cfg, st = self.cfg, self.cfg.stem_lattice
        steps = self.training_steps(self.cell_models("stem_lattice"))
        return (f"Run: `stem_lattice` test split, {st.images_per_level.test} images per CDN "
                f"level ({', '.join(f'L{lv}' for lv in st.levels)}) of "
                f"{st.image_size or cfg.image_size}² px, test materials "
                f"{', '.join(st.materials.test) if st.materials else 'from the CIF folder'}; "
                "training steps: "
                f"{', '.join(f'{m} {n}' for m, n in sorted(steps.items())) or 'none'}"
                ". The paper trains PINNED on 5 images for 500 epochs.")

    def pinned_cells(self) -> list[str]:
        return self.dataset_cells("stem_lattice")

    def pinned_tables_kwargs(self) -> dict[str, Any]:
        return {"cell_paths": self.pinned_cells(), "context": self.pinned_context()}

    def pinned_tables_outputs(self) -> dict[str, str]:
        """:meth:`pinned_outputs` by keyword of simart.reporting.pinned.write_tables."""
        out = self.pinned_outputs()
        return {"curves_csv": out["curves"], "md": out["md"], "trends_csv": out["trends"],
                "claims_csv": out["claims"]}

    def pinned_targets(self) -> list[str]:
        """The tables (the figure: spec pinned_noise_curves)."""
        return list(self.pinned_outputs().values()) if self.pinned_cells() else []

    def pinned_curves(self) -> list[str]:
        return [self.pinned_outputs()["curves"]]

    def pinned_figure_kwargs(self) -> dict[str, Any]:
        return {"curves": self.pinned_outputs()["curves"], "dpi": self.cfg.figures.dpi,
                "title": "stem_lattice test materials: metric vs CDN noise level "
                         "(mean ± std over images)"}

    # ------------------------------------------------------------------ PI-DDPM, PDA-Net, conditional-DDPM rows
    def evaluated(self, dataset: str, models: tuple[str, ...] | list[str]) -> list[str]:
        """The models of ``models`` that have cells on ``dataset`` in this config."""
        if dataset not in self.views:
            return []
        names = set(self.cell_models(dataset))
        return [m for m in models if m in names]

    def cells_of(self, dataset: str, models: tuple[str, ...] | list[str]) -> list[str]:
        """Cell tables of the evaluated ``models`` on ``dataset`` (its scored subsets)."""
        if dataset not in self.views:
            return []
        return [self.cell(dataset, s, m) for s in self.views[dataset].eval_subsets
                for m in self.evaluated(dataset, models)]

    def missing(self, dataset: str, models: tuple[str, ...] | list[str]) -> dict[str, str]:
        """{model: why it has no cell on ``dataset``} (for "missing: reason" in tables and
        figures)."""
        out = {}
        for m in models:
            if m in self.eval_names and self.applies(m, dataset):
                continue
            if m not in self.eval_names:
                out[m] = "not evaluated in this config (evaluate.models)"
            else:
                where = [d for d in DATASET_NAMES
                         if model_applies(m, d, self.cfg.evaluate.model_datasets)]
                out[m] = f"not run on {dataset} (runs on {', '.join(where) or 'no dataset'})"
        return out

    def scale(self, dataset: str, models: tuple[str, ...] | list[str]) -> dict[str, str]:
        """{model: what our run was} for claims_vs_measured (from the config only)."""
        part = getattr(self.cfg, dataset, None)
        size = getattr(part, "image_size", None) or self.cfg.image_size
        out = {}
        for m in models:
            s = f"{size}² px"
            net = self.eval_entry(m)[0]
            if self.is_learned(m) and net in LEARNED_MODELS:
                s += f", {self.cfg.train.settings(net)['steps']} training steps"
            out[m] = s
        return out

    def dataset_subsets(self, dataset: str) -> list[str]:
        """Scored subsets of a dataset (none when it is not evaluated)."""
        return list(self.views[dataset].eval_subsets) if dataset in self.views else []

    # ------------------------------------------------------------------ the PI-DDPM paper
    def piddpm_outputs(self) -> dict[str, str]:
        t = f"{self.root}/tables"
        return {"md": f"{t}/piddpm_table.md", "csv": f"{t}/piddpm_table.csv",
                "claims": f"{t}/claims_vs_measured_piddpm.csv"}

    def piddpm_context(self) -> str:
        if "lm" not in self.views:
            return ""
        lm = self.cfg.lm
        steps = {m: self.cfg.train.settings(m)["steps"] for m in self.evaluated("lm", PIDDPM_MODELS)
                 if m in LEARNED_MODELS}
        return (f"Run: `lm` test split, {lm.images_per_mode.test} images per mode of "
                f"{lm.image_size or self.cfg.image_size}² px; training steps: "
                + (", ".join(f"{m} {n}" for m, n in sorted(steps.items())) or "none")
                + ". The paper trains on ImageNet/BioSR-derived data for ~1 M iterations and "
                "tests on BioSR, W2S and dSTORM; compare orderings, not absolute values.")

    def piddpm_scale(self) -> str:
        return (f"{(self.cfg.lm.image_size or self.cfg.image_size)}² px, "
                f"{self.cfg.train.settings('pi_ddpm')['steps']} training steps")

    def piddpm_cells(self) -> list[str]:
        return self.cells_of("lm", PIDDPM_MODELS)

    def piddpm_tables_kwargs(self) -> dict[str, Any]:
        return {"cell_paths": self.piddpm_cells(), "subsets": self.dataset_subsets("lm"),
                "missing": self.missing("lm", PIDDPM_MODELS), "context": self.piddpm_context(),
                "scale": self.piddpm_scale()}

    def piddpm_tables_outputs(self) -> dict[str, str]:
        """:meth:`piddpm_outputs` by keyword of simart.reporting.piddpm.write_tables."""
        out = self.piddpm_outputs()
        return {"md_path": out["md"], "csv_path": out["csv"], "claims_csv_path": out["claims"]}

    def piddpm_eta_rows(self) -> dict[str, Any]:
        from simart.reporting.piddpm import eta_rows

        return eta_rows(self.cfg, self.cell_models("lm")) if "lm" in self.views else {}

    def piddpm_targets(self) -> list[str]:
        """The table (the figure: spec fig_piddpm_eta_ablation)."""
        if self.evaluated("lm", ("pi_ddpm", "pi_ddpm_plain", "unet")):
            return list(self.piddpm_outputs().values())
        return []

    def piddpm_eta_cells(self) -> list[str]:
        return self.cells_of("lm", list(self.piddpm_eta_rows()))

    def piddpm_eta_kwargs(self) -> dict[str, Any]:
        return {"cells": self.piddpm_eta_cells(), "rows": self.piddpm_eta_rows(),
                "subsets": self.dataset_subsets("lm"), "dpi": self.cfg.figures.dpi}

    # ------------------------------------------------------------------ the PDA-Net paper
    def pdanet_outputs(self) -> dict[str, str]:
        """PDA-Net paper Tables I and II (rule pdanet_tables), by output name."""
        base = f"{self.root}/tables/pdanet_tables"
        return {"md": f"{base}.md", "csv": f"{base}.csv", "ordering": f"{base}_ordering.csv"}

    def pdanet_cells(self) -> list[str]:
        """The stm_cu111 cells the PDA-Net paper's tables read (none when the dataset is off)."""
        return self.dataset_cells("stm_cu111")

    def pdanet_claims(self) -> str:
        return f"{self.root}/tables/claims_vs_measured_pdanet.csv"

    def pdanet_tables_kwargs(self) -> dict[str, Any]:
        return {"cell_paths": self.pdanet_cells(), "data_range": self.cfg.evaluate.data_range,
                "context": self.pdanet_context()}

    def pdanet_tables_outputs(self) -> dict[str, str]:
        """:meth:`pdanet_outputs` by keyword of simart.reporting.pdanet.write_tables."""
        out = self.pdanet_outputs()
        return {"md_path": out["md"], "csv_path": out["csv"],
                "ordering_csv_path": out["ordering"]}

    def pdanet_context(self) -> str:
        """What was run, for the caption of the PDA-Net paper's tables (from the config only)."""
        from simart.specs.hparams import resolve_hparams
        from simart.specs.hparams_gan import degradation_noise

        cfg, st = self.cfg, self.cfg.stm_cu111
        size = st.image_size or cfg.image_size
        steps = self.training_steps(self.cell_models("stm_cu111"))
        steps_s = ", ".join(f"{m} {n}" for m, n in sorted(steps.items()))
        noisy: dict[str, list[str]] = {}  # amplitudes -> models (one group when all agree)
        for m in sorted(steps):
            amp = degradation_noise(resolve_hparams(m, cfg.train.hparams(m, "stm_cu111")))
            if amp:
                noisy.setdefault(", ".join(f"{k} {v:g}" for k, v in amp.items()), []).append(m)
        noise_s = "".join(
            f" NOT as in the paper: the degradation generator (G_B, CycleGAN's F) of "
            f"{', '.join(f'`{m}`' for m in models)} adds random STM scan noise to its output "
            f"in training ({amps}; `simart/specs/hparams_gan.py`, \"Stochastic degradation "
            "generator\": without it none of the unpaired rows beat the blurry input in the "
            "embedded run)." for amps, models in noisy.items())
        return (f"Run: `stm_cu111` test split, {st.images_per_domain.test} images per domain "
                f"of {size}² px ({st.images_per_domain.train} training maps per domain); "
                f"training steps: {steps_s or 'none'}. The paper trains on its own simulated "
                "set and applies the result to lab images; the scale differs, so compare "
                f"directions and orderings before absolute values.{noise_s}")

    def pdanet_paths(self, subset: str) -> dict[str, Any]:
        """{shard, predictions, cells} of one Fig. 3/4: first test shard of ``subset``, the
        ablation rows' predictions of it, the cells (with the input's) that annotate it."""
        if "stm_cu111" not in self.views:
            return {"shard": "", "predictions": {}, "cells": {}}
        v = self.views["stm_cu111"]
        shard = v.shard_ids("test")[0]
        return {
            "shard": v.shard_path(subset, "test", shard, self.root),
            "predictions": {m: f"{self.root}/predictions/stm_cu111/{m}/{shard}.h5"
                            for m in self.evaluated("stm_cu111", PDANET_ABLATION)},
            "cells": {m: self.cell("stm_cu111", subset, m)
                      for m in self.evaluated("stm_cu111", ("noisy", *PDANET_ABLATION))},
        }

    def pdanet_fig_title(self, fig: int, subset: str, what: str) -> str:
        st = self.cfg.stm_cu111
        return (f"PDA-Net paper Fig. {fig}: stm_cu111/{subset} test images "
                f"({st.image_size or self.cfg.image_size}² px), first test shard ({what})")

    def pdanet_targets(self) -> list[str]:
        out = []
        if self.pdanet_cells():
            out.append(self.pdanet_outputs()["md"])
        return out

    def pdanet_ablation_rows(self) -> list[str]:
        return self.evaluated("stm_cu111", PDANET_ABLATION)

    def _pdanet_fig_kwargs(self, fig: int, subset: str, what: str) -> dict[str, Any]:
        return {**self.pdanet_paths(subset), "subset": subset,
                "missing": self.missing("stm_cu111", PDANET_ABLATION), "n_examples": 4,
                "dpi": self.cfg.figures.dpi, "title": self.pdanet_fig_title(fig, subset, what)}

    def pdanet_fig3_paths(self) -> dict[str, Any]:
        return self.pdanet_paths("blurry")

    def pdanet_fig3_kwargs(self) -> dict[str, Any]:
        return self._pdanet_fig_kwargs(3, "blurry",
                                       "PSNR / SSIM vs the clean map; grey scale 0-1")

    def pdanet_fig4_paths(self) -> dict[str, Any]:
        return self.pdanet_paths("experimental")

    def pdanet_fig4_kwargs(self) -> dict[str, Any]:
        return self._pdanet_fig_kwargs(4, "experimental",
                                       "BRISQUE / PIQE, no reference; grey scale 0-1")

    def pdanet_claims_inputs(self) -> list[str]:
        return [self.pdanet_outputs()["csv"]]

    def pdanet_claims_kwargs(self) -> dict[str, Any]:
        return {"tables_csv": self.pdanet_outputs()["csv"],
                "scale": self.scale("stm_cu111", ("noisy", *PDANET_ABLATION))}

    def pdanet_claims_outputs(self) -> dict[str, str]:
        return {"out_csv": self.pdanet_claims()}

    # ------------------------------------------------------------------ the conditional-DDPM paper
    def condddpm_outputs(self) -> dict[str, str]:
        """The conditional-DDPM paper measurements from cond_ddpm's predictions (rule condddpm_tables)."""
        base = f"{self.root}/tables/condddpm_cond_ddpm"
        return {"md": f"{base}.md", "curve": f"{base}_curve.csv",
                "uncertainty": f"{base}_uncertainty.csv"}

    def condddpm_inputs(self) -> dict[str, Any]:
        """{preds: [per test shard], shards: [{mode: shard}]} of cond_ddpm on lm (empty when
        it is not evaluated there)."""
        if "lm" not in self.views or "cond_ddpm" not in self.cell_models("lm"):
            return {}
        v = self.views["lm"]
        ids = self.eval_shard_ids("lm", "cond_ddpm")
        return {"preds": [f"{self.root}/predictions/lm/cond_ddpm/{i}.h5" for i in ids],
                "shards": [{s: v.shard_path(s, "test", i, self.root) for s in v.eval_subsets}
                           for i in ids]}

    def condddpm_context(self) -> str:
        """What was run, for the caption of the conditional-DDPM paper's tables (from the config only)."""
        cfg, lm = self.cfg, self.cfg.lm
        hp = self.trained_hparams("cond_ddpm")
        return (f"Run: `cond_ddpm` on the `lm` test split ({lm.images_per_mode.test} images "
                f"per mode, {lm.image_size or cfg.image_size}² px), "
                f"{cfg.train.settings('cond_ddpm')['steps']} training steps; sampling: "
                f"{hp['sampler'].upper()} with {hp['steps']} steps, N = {hp['n_samples']} "
                "samples averaged (the paper: DDPM over T = 200, N = 15).")

    def condddpm_curve(self) -> list[str]:
        """The per-image DDPM-avg curve of rule condddpm_tables (none without cond_ddpm)."""
        return [self.condddpm_outputs()["curve"]] if self.condddpm_inputs() else []

    def condddpm_tables_kwargs(self) -> dict[str, Any]:
        paths = self.condddpm_inputs()
        return {"pred_paths": paths.get("preds", []), "shard_paths": paths.get("shards", []),
                "data_range": self.cfg.evaluate.data_range, "context": self.condddpm_context()}

    def condddpm_tables_outputs(self) -> dict[str, str]:
        """:meth:`condddpm_outputs` by keyword of simart.reporting.condddpm.write_tables."""
        out = self.condddpm_outputs()
        return {"md_path": out["md"], "curve_csv": out["curve"],
                "uncertainty_csv": out["uncertainty"]}

    def condddpm_n_samples(self) -> int:
        return int(self.trained_hparams("cond_ddpm")["n_samples"])

    def condddpm_scale(self) -> dict[str, str]:
        out = self.scale("lm", CONDDPM_MODELS)
        if "cond_ddpm" in out:
            hp = self.trained_hparams("cond_ddpm")
            out["cond_ddpm"] += (f", {hp['sampler'].upper()} {hp['steps']} steps, mean of "
                                 f"N = {hp['n_samples']} samples")
            out["cond_ddpm_single"] = self.scale("lm", ["cond_ddpm"])["cond_ddpm"] + (
                f", {hp['sampler'].upper()} {hp['steps']} steps, one sample")
        return out

    def condddpm_rows(self) -> list[str]:
        return self.evaluated("lm", CONDDPM_MODELS)

    def condddpm_cells_and_curve(self) -> dict[str, list[str]]:
        """The lm cells of the paper's methods and cond_ddpm's curve table (if any)."""
        return {"cells": self.cells_of("lm", CONDDPM_MODELS), "curve": self.condddpm_curve()}

    def _condddpm_cell_kwargs(self) -> dict[str, Any]:
        curve = self.condddpm_curve()
        return {"cell_paths": self.cells_of("lm", CONDDPM_MODELS),
                "curve_csv": curve[0] if curve else None}

    def condddpm_distributions_kwargs(self) -> dict[str, Any]:
        return {**self._condddpm_cell_kwargs(), "missing": self.missing("lm", CONDDPM_MODELS),
                "dpi": self.cfg.figures.dpi}

    def condddpm_distributions_outputs(self) -> dict[str, str]:
        return {"stats_csv": self.condddpm_distribution_stats()}

    def condddpm_claims_kwargs(self) -> dict[str, Any]:
        return {**self._condddpm_cell_kwargs(), "data_range": self.cfg.evaluate.data_range,
                "scale": self.condddpm_scale()}

    def condddpm_claims_outputs(self) -> dict[str, str]:
        return {"out_csv": self.condddpm_claims()}

    def condddpm_ddpm_avg_kwargs(self) -> dict[str, Any]:
        return {"curve": self.condddpm_outputs()["curve"], "n_ours": self.condddpm_n_samples(),
                "dpi": self.cfg.figures.dpi}

    def condddpm_uncertainty_kwargs(self) -> dict[str, Any]:
        paths = self.condddpm_uncertainty_paths()
        return {"pred_path": paths["pred"], "shards": paths["shards"], "n_examples": 2,
                "dpi": self.cfg.figures.dpi}

    def condddpm_uncertainty_paths(self) -> dict[str, Any]:
        """The first test shard's cond_ddpm prediction file and its {mode: test shard}."""
        paths = self.condddpm_inputs()
        if not paths:
            return {"pred": "", "shards": {}}
        return {"pred": paths["preds"][0], "shards": paths["shards"][0]}

    def condddpm_distribution_stats(self) -> str:
        return f"{self.root}/tables/condddpm_distributions_stats.csv"

    def condddpm_claims(self) -> str:
        return f"{self.root}/tables/claims_vs_measured_condddpm.csv"

    def condddpm_targets(self) -> list[str]:
        return [self.condddpm_outputs()["md"]] if self.condddpm_inputs() else []

    # ------------------------------------------------------------------ reproduction report
    def reproduction_outputs(self) -> dict[str, str]:
        return {"md": f"{self.root}/reproduction_report.md",
                "csv": f"{self.root}/tables/claims_vs_measured.csv"}

    def reproduction_context(self) -> str:
        """What was run, for the reproduction report's header (config; hardware is read
        from the trainings' summary.json files by the script)."""
        cfg = self.cfg
        return (f"Config: image size {cfg.image_size}² px, hyper-parameter preset "
                f"`{cfg.train.hparams_preset}`, default training steps "
                f"{cfg.train.defaults.steps}; SIMART test images per modality: "
                f"{cfg.simart.images_per_modality.test}; datasets {list(self.views)}.")

    def reproduction_inputs(self) -> dict[str, list[str]]:
        return {"parts": self.claims_parts(), "summaries": self.training_summaries()}

    def reproduction_kwargs(self) -> dict[str, Any]:
        return {"part_paths": self.claims_parts(), "summaries": self.training_summaries(),
                "context": self.reproduction_context()}

    def reproduction_report_outputs(self) -> dict[str, str]:
        """:meth:`reproduction_outputs` by keyword of
        simart.reporting.reproduction.write_report_with_hardware."""
        out = self.reproduction_outputs()
        return {"md_path": out["md"], "csv_path": out["csv"]}

    # ------------------------------------------------------------------ the figure specs
    def figure_specs(self) -> list[FigureSpec]:
        """Every registered figure (simart.specs.figures.FIGURES): one rule each."""
        return list(FIGURES.values())

    def figure_applies(self, spec: FigureSpec) -> bool:
        """Whether ``spec`` is a target of this config (its ``applies`` method)."""
        return spec.applies is None or bool(getattr(self, spec.applies)())

    def figure_inputs(self, spec: FigureSpec) -> list[str]:
        """The paths the rule of ``spec`` reads (each once, none empty)."""
        return [p for p in dict.fromkeys(flat_paths(getattr(self, spec.inputs)())) if p]

    def figure_kwargs(self, spec: FigureSpec) -> dict[str, Any]:
        return getattr(self, spec.kwargs)() if spec.kwargs else {}

    def figure_outputs(self, spec: FigureSpec) -> dict[str, Any]:
        """{keyword: path(s)} of the function's outputs: ``out_paths`` (the figure files)
        and the named outputs of the spec's ``outputs`` method."""
        out: dict[str, Any] = {}
        if spec.figure_name is not None:
            out["out_paths"] = self.figure_files(spec.figure_name)
        if spec.outputs:
            out.update(getattr(self, spec.outputs)())
        return out

    def figure_caption(self, spec: FigureSpec) -> str:
        """The spec's caption with ``snakemake.config`` filled in from the validated config
        (every key, defaults included; the report renders only the caption file,
        report/figure.rst, whose text is this param)."""
        if not spec.caption:
            return ""
        import jinja2

        config = self.cfg.model_dump(mode="json")
        return jinja2.Template(spec.caption, undefined=jinja2.StrictUndefined).render(
            snakemake={"config": config})

    def spec_targets(self, kinds: tuple[str, ...] = ("figure", "table")) -> list[str]:
        """The outputs of every figure/table spec of ``kinds`` that applies to this config
        (the ``report`` kind reads the others' claims tables: :meth:`figure_targets`)."""
        return [p for spec in self.figure_specs() if spec.kind in kinds
                and self.figure_applies(spec) for p in flat_paths(self.figure_outputs(spec))]

    # ------------------------------------------------------------------ targets
    def paper_targets(self) -> list[str]:
        """The calibration's and the papers' tables and figures this config can produce."""
        return self.spec_targets()

    def claims_parts(self) -> list[str]:
        """The per-paper claims_vs_measured tables this config produces (the reproduction
        report's inputs)."""
        return [t for t in self.paper_targets() if "/claims_vs_measured_" in t]

    def figure_targets(self) -> list[str]:
        """Every table and figure ``snakemake figures`` regenerates (and ``all`` builds):
        the aggregate and statistics tables, every applicable figure/table spec's outputs,
        the reproduction report (spec reproduction_report, when there are claims) and the
        report pages of these tables (:meth:`report_tables`)."""
        agg = self.aggregate_outputs()
        return [agg["csv"], agg["md"], self.stats_outputs()["md"], *self.paper_targets(),
                *self.spec_targets(("report",)),
                *(self.report_page(n) for n, t in self.report_tables().items()
                  if t.category != REAL_CATEGORY)]

    # ------------------------------------------------------------------ report pages
    def report_tables(self) -> dict[str, ReportTable]:
        """{page name: :class:`ReportTable`} of every Markdown table this config writes:
        the aggregate and statistics tables, the Markdown outputs of every applicable
        table/report spec (caption: the spec's ``caption_files`` entry, else
        report/<file stem>.rst) and the real-data stage's table. The name is the
        Markdown file's stem. Computed once per plan."""
        cached = self.__dict__.get("_report_tables")
        if cached is not None:
            return dict(cached)
        benchmark = CATEGORIES["benchmark"]
        out = {
            "simart_metrics": ReportTable(self.aggregate_outputs()["md"], benchmark,
                                          TABLE_LABELS["simart_metrics"],
                                          "simart_metrics.rst"),
            "simart_stats": ReportTable(self.stats_outputs()["md"], benchmark,
                                        TABLE_LABELS["simart_stats"], "simart_stats.rst"),
        }
        for spec in self.figure_specs():
            if spec.kind == "figure" or not self.figure_applies(spec):
                continue
            for key, path in self.figure_outputs(spec).items():
                if isinstance(path, str) and path.endswith(".md"):
                    name = PurePosixPath(path).stem
                    out[name] = ReportTable(
                        path, spec.category, TABLE_LABELS.get(name, spec.label),
                        spec.caption_files.get(key, f"{name}.rst"))
        if self.real_sets():
            out["real_noref"] = ReportTable(self.real_table_outputs()["md"], REAL_CATEGORY,
                                            TABLE_LABELS["real_noref"], "real_noref.rst")
        self.__dict__["_report_tables"] = out
        return dict(out)

    def all_targets(self) -> list[str]:
        """What rule ``all`` builds: every shard (with its table), every training, every
        benchmark cell, every table and figure, the real-data stage's outputs."""
        return [*shard_outputs(self.shard_targets()), *training_outputs(self.all_trained()),
                *self.all_cells(), *self.figure_targets(), *self.real_targets()]


def figure_targets(cfg: Config, root: str = "results") -> list[str]:
    """Every table and figure target of ``cfg`` (:meth:`FigurePlan.figure_targets`)."""
    return FigurePlan(cfg, root).figure_targets()
