"""What the workflow runs for a config: targets, evaluation rows and the inputs of each rule.

The rule files (``rules/*.smk``) are declarative: every path list, every input of a rule and
every config-dependent choice comes from a :class:`Plan` built once from the validated
config (``simart.config.validate_config``) and the results root (``"results"``). The
figure and table rules' inputs and the one list of figure/table targets live in
:mod:`simart.workflow.figures_plan` (:class:`~simart.workflow.figures_plan.FigurePlan`,
a :class:`Plan`); resource requests in :mod:`simart.workflow.resources`.

Plain Python, no Snakemake: the methods take plain values (a dataset, a model, a shard
index ...), so ``rules/common.smk`` wraps them as ``lambda wc: PLAN.x(wc.dataset, ...)``
where Snakemake passes wildcards. Torch-free (the workflow imports it while planning);
not imported by any workflow script, so it is no part of a script's code version
(:func:`simart.provenance.code_version`).

Evaluation rows: the models of ``evaluate.models``, then the study rows (no training of
their own): sampling variants of a trained model (``evaluate.variants``) and the
cross-modal rows ``<model>_from_<modality>`` (simart only).
"""

from __future__ import annotations

import os
from typing import Any

from simart.config import LEARNED_MODELS, SPLITS, Config, n_shards
from simart.data.datasets import MODEL_UNPAIRED, dataset_views
from simart.specs.models import model_applies, unpaired_fields
from simart.workflow.real_plan import RealPlan

#: every dataset name a wildcard ``{dataset}`` may take
DATASET_NAMES = ("simart", "stem_lattice", "stm_cu111", "lm")


def flat_paths(tree: Any) -> list[str]:
    """Every path in a tree of dicts and lists of paths."""
    if isinstance(tree, dict):
        return [p for v in tree.values() for p in flat_paths(v)]
    if isinstance(tree, list):
        return [p for v in tree for p in flat_paths(v)]
    return [tree]


class Plan(RealPlan):
    """The jobs of one config: shards, trainings, evaluation rows and cells, rule inputs.

    ``cfg``: the validated config; ``root``: the results folder (relative to the working
    directory, as in every rule's output)."""

    def __init__(self, cfg: Config, root: str = "results"):
        self.cfg = cfg
        self.root = root
        self.modalities = list(cfg.simart.modalities)
        self.models = list(cfg.evaluate.models)
        self.metrics = list(cfg.evaluate.metrics)
        views = dataset_views(cfg)
        #: datasets as evaluation and training see them (simart.data.datasets): subsets,
        #: which subsets learned models train on, which are scored, shards per split
        self.views = {k: v for k, v in views.items() if k in cfg.evaluate.datasets}
        self.all_subsets = sorted({s for v in views.values() for s in v.subsets})
        self.studies = cfg.evaluate.study_names(self.modalities)
        self.eval_names = self.models + self.studies
        self._cell_models: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ config and names
    def wildcard_constraints(self) -> dict[str, str]:
        """Global wildcard constraints (rules/common.smk)."""
        return {
            "modality": "|".join(self.modalities),
            "split": "train|val|test",
            "shard": r"\d{4}",
            "model": r"[A-Za-z0-9_]+",
            "dataset": "|".join(DATASET_NAMES),
            "subset": "|".join(self.all_subsets),
            "realset": "|".join(self.real_sets()) or "(?!)",
            "image": r"[A-Za-z0-9_.-]+",
        }

    def cfg_part(self, *keys: str) -> dict[str, Any]:
        """The config sections a rule depends on (params: a change reruns only those jobs)."""
        dumped = self.cfg.model_dump(mode="json")
        return {k: dumped[k] for k in keys}

    # ------------------------------------------------------------------ shards
    def shard_ids(self, split: str) -> list[str]:
        """SIMART shard indices of a split."""
        return [f"{i:04d}" for i in range(n_shards(self.cfg, split))]

    def all_shards(self) -> list[str]:
        """Every SIMART shard (.h5) of every modality and split."""
        return [f"{self.root}/simart/shards/{m}/{s}/{i}.h5"
                for m in self.modalities for s in SPLITS for i in self.shard_ids(s)]

    def simart_shards_by_modality(self) -> dict[str, list[str]]:
        """{modality: every SIMART shard of it, all splits} (the calibration table)."""
        return {m: [f"{self.root}/simart/shards/{m}/{s}/{i}.h5"
                    for s in SPLITS for i in self.shard_ids(s)] for m in self.modalities}

    @staticmethod
    def _ids(counts: Any, split: str, shard_size: int) -> list[str]:
        from simart.data.sharding import n_shards_for

        return [f"{i:04d}" for i in range(n_shards_for(getattr(counts, split), shard_size))]

    def stem_lattice_shards(self) -> list[str]:
        sl = self.cfg.stem_lattice
        if not sl.enabled:
            return []
        return [f"{self.root}/stem_lattice/shards/L{lv}/{s}/{i}.h5" for lv in sl.levels
                for s in SPLITS for i in self._ids(sl.images_per_level, s, sl.shard_size)]

    def stm_cu111_shards(self) -> list[str]:
        st = self.cfg.stm_cu111
        if not st.enabled:
            return []
        return [f"{self.root}/stm_cu111/shards/{d}/{s}/{i}.h5" for d in st.domains
                for s in SPLITS for i in self._ids(st.images_per_domain, s, st.shard_size)]

    def lm_shards(self) -> list[str]:
        lm = self.cfg.lm
        if not lm.enabled:
            return []
        return [f"{self.root}/lm/shards/{m}/{s}/{i}.h5" for m in lm.modes
                for s in SPLITS for i in self._ids(lm.images_per_mode, s, lm.shard_size)]

    def physics_dataset_targets(self) -> list[str]:
        """Every shard of the three physics datasets (empty for a disabled dataset)."""
        return self.stem_lattice_shards() + self.stm_cu111_shards() + self.lm_shards()

    def pixels(self, section: str) -> int:
        """Pixels of one image of a physics dataset (its image_size, else the global)."""
        return (getattr(self.cfg, section).image_size or self.cfg.image_size) ** 2

    # ------------------------------------------------------------------ evaluation rows
    def eval_entry(self, name: str) -> tuple[str, dict, str | None]:
        """(trained model, set_sampling options, fixed training group or None) of an
        evaluation row: a model, a variant (evaluate.variants) or a cross-modal row."""
        ev = self.cfg.evaluate
        if name in ev.active_variants():
            var = ev.variants[name]
            return var.model, dict(var.sampling), None
        for m in (m for m in ev.cross_modal if m in self.models):
            for mod in self.modalities:
                if name == f"{m}_from_{mod}":
                    return m, {}, mod
        return name, {}, None

    def applies(self, name: str, dataset: str) -> bool:
        """Whether evaluation row ``name`` runs on ``dataset`` (simart.data.datasets)."""
        net, _, group = self.eval_entry(name)
        if group is not None:
            return dataset == "simart"
        return model_applies(net, dataset, self.cfg.evaluate.model_datasets)

    def cell_models(self, dataset: str) -> list[str]:
        """Evaluation rows of ``dataset``: models that apply to it, then its study rows."""
        if dataset not in self._cell_models:
            self._cell_models[dataset] = [m for m in self.eval_names
                                          if self.applies(m, dataset)]
        return list(self._cell_models[dataset])

    def is_learned(self, name: str) -> bool:
        return self.eval_entry(name)[0] in LEARNED_MODELS

    def learned_models(self) -> list[str]:
        return [m for m in self.models if m in LEARNED_MODELS]

    def eval_shard_ids(self, dataset: str, name: str) -> list[str]:
        """Test shard indices a row is scored on (study rows: evaluate.study_test_shards)."""
        ids = self.views[dataset].shard_ids("test")
        if name in self.studies and self.cfg.evaluate.study_test_shards:
            ids = ids[:self.cfg.evaluate.study_test_shards]
        return ids

    def cell(self, dataset: str, subset: str, model: str) -> str:
        return f"{self.root}/metrics/{dataset}/{subset}/{model}.parquet"

    def all_cells(self) -> list[str]:
        """Every benchmark cell: results/metrics/{dataset}/{subset}/{model}.parquet."""
        return [self.cell(d, s, m) for d, v in self.views.items()
                for s in v.eval_subsets for m in self.cell_models(d)]

    def dataset_cells(self, dataset: str) -> list[str]:
        """Every cell of one dataset (every scored subset x row; none when it is off)."""
        if dataset not in self.views:
            return []
        return [self.cell(dataset, s, m) for s in self.views[dataset].eval_subsets
                for m in self.cell_models(dataset)]

    # ------------------------------------------------------------------ training
    def weights_path(self, dataset: str, group: str, model: str) -> str:
        return f"{self.root}/models/{dataset}/{group}/{model}/best.pt"

    def entry_weights(self, dataset: str, name: str, subset: str) -> str:
        """The best.pt that restores ``subset`` for evaluation row ``name``."""
        net, _, group = self.eval_entry(name)
        return self.weights_path(dataset, group or self.views[dataset].group_of(subset, net),
                                 net)

    def all_trained(self) -> list[str]:
        """best.pt of every training: each learned model on each group of each dataset it
        runs on, and the cross-modal trainings (one simart modality each)."""
        ev = self.cfg.evaluate
        out = [self.weights_path(d, g, m) for d, v in self.views.items()
               for m in self.learned_models() if model_applies(m, d, ev.model_datasets)
               for g in v.groups_for(m)]
        if "simart" in self.views:
            out += [self.weights_path("simart", mod, m) for m in ev.cross_modal
                    if m in self.models for mod in self.modalities]
        return out

    def training_summaries(self) -> list[str]:
        """summary.json of every training (the reproduction report's hardware)."""
        return [p.replace("best.pt", "summary.json") for p in self.all_trained()]

    def unpaired_inputs(self, dataset: str, model: str) -> dict[str, list[str]]:
        """Shards of the unpaired pools a model trains with (simart.data.datasets:
        MODEL_UNPAIRED): {"u" | "xu": train shards of the pool's subset}."""
        v, out = self.views[dataset], {}
        for field, subset in MODEL_UNPAIRED.get(dataset, {}).items():
            if field in unpaired_fields(model) and subset in v.subsets:
                out[field] = v.shards((subset,), "train", self.root)
        return out

    def group_subsets(self, dataset: str, group: str) -> list[str]:
        """The training subsets of a training group."""
        return list(self.views[dataset].all_groups[group])

    def train_inputs(self, dataset: str, group: str, model: str) -> dict[str, list[str]]:
        """{train, val: the group's shards, plus the unpaired pools} of one training."""
        v = self.views[dataset]
        subsets = v.all_groups[group]
        return {"train": v.shards(subsets, "train", self.root),
                "val": v.shards(subsets, "val", self.root),
                **self.unpaired_inputs(dataset, model)}

    def train_cfg(self, dataset: str) -> dict[str, Any]:
        """Config parts a training depends on: simart's Noise2Noise pairs replay its
        parameters."""
        keys = ("seed", "image_size", "simart") if dataset == "simart" else ("seed",)
        return self.cfg_part(*keys)

    def train_unpaired(self, dataset: str, model: str) -> dict[str, str]:
        """{pool field: which images of it the model reads}."""
        return {f: "clean" if f == "xu" else "degraded"
                for f in self.unpaired_inputs(dataset, model)}

    def train_settings(self, model: str) -> dict[str, Any]:
        """Training settings of a model (train.defaults + train.models) and the device."""
        tr = self.cfg.train
        return {**tr.settings(model), "device": tr.device, "deterministic": tr.deterministic,
                "threads": tr.threads, "num_workers": tr.num_workers, "progress": tr.progress}

    # ------------------------------------------------------------------ restoration, scoring
    def test_shards(self, dataset: str, shard: str) -> dict[str, str]:
        """{subset: test shard path} of one shard index, every scored subset of the dataset."""
        v = self.views[dataset]
        return {s: v.shard_path(s, "test", shard, self.root) for s in v.eval_subsets}

    def eval_subsets(self, dataset: str) -> list[str]:
        return list(self.views[dataset].eval_subsets)

    def predict_weights(self, dataset: str, model: str) -> dict[str, str]:
        """{subset: weights of the model that restores it} (learned models and their study
        rows)."""
        return {s: self.entry_weights(dataset, model, s)
                for s in self.views[dataset].eval_subsets}

    def predict_inputs(self, dataset: str, model: str, shard: str) -> dict[str, str]:
        """Test shards of one index, and the weights of a learned row (``weights_{subset}``);
        where the job also scores (:attr:`score_in_predict`), the LPIPS backbone as in
        :meth:`score_inputs`."""
        inputs = dict(self.test_shards(dataset, shard))
        if self.is_learned(model):
            inputs.update({f"weights_{s}": p
                           for s, p in self.predict_weights(dataset, model).items()})
        if self.score_in_predict:
            inputs.update(self._lpips_input())
        return inputs

    @property
    def score_in_predict(self) -> bool:
        """Whether predict_shard also scores its shard (``evaluate.score_in_prediction_job``;
        then there is no score_shard rule)."""
        return bool(self.cfg.evaluate.score_in_prediction_job)

    def predict_outputs(self) -> dict[str, str]:
        """Output patterns of predict_shard: predictions and run table, and the metric table
        of score_shard where the job scores too."""
        r = self.root
        out = {"pred": f"{r}/predictions/{{dataset}}/{{model}}/{{shard}}.h5",
               "table": f"{r}/runs/{{dataset}}/{{model}}/{{shard}}.parquet"}
        if self.score_in_predict:
            out["scores"] = self.score_output()
        return out

    def score_output(self) -> str:
        """The metric table of one test shard (score_shard's output pattern)."""
        return f"{self.root}/metrics_shards/{{dataset}}/{{model}}/{{shard}}.parquet"

    def score_settings(self) -> dict[str, Any]:
        """What scoring uses besides its inputs (score_shard's params)."""
        return {"metrics": list(self.metrics), "data_range": self.cfg.evaluate.data_range,
                "lpips_backbone": self.lpips_backbone_path() if "lpips" in self.metrics
                else None}

    def eval_pixels(self, dataset: str) -> int:
        """Pixels one predict/score job handles (its shard of every scored subset)."""
        cfg = self.cfg
        sec = getattr(cfg, dataset)
        size = getattr(sec, "image_size", None) or cfg.image_size
        per_shard = cfg.simart.shard_size if dataset == "simart" else sec.shard_size
        return len(self.views[dataset].eval_subsets) * per_shard * size**2

    def predict_kwargs(self, model: str) -> dict[str, Any]:
        """Keyword arguments of a row's restoration (simart.restore)."""
        cfg = self.cfg
        if model == "richardson_lucy":
            return {"num_iter": cfg.evaluate.rl_iterations}
        if self.is_learned(model):
            net, sampling, _ = self.eval_entry(model)
            kw: dict[str, Any] = {"device": cfg.train.device,
                                  "batch_size": cfg.train.defaults.batch_size}
            if net != model:
                kw["net_model"] = net
            if sampling:
                kw["sampling"] = sampling
            if not cfg.evaluate.inference.is_default():  # (absent: params as before it)
                kw["inference"] = cfg.evaluate.inference.output_settings()
            return kw
        return {}

    def lpips_backbone_path(self) -> str:
        """Where LPIPS looks for torchvision's AlexNet checkpoint (as torch.hub.get_dir())."""
        if self.cfg.evaluate.lpips_backbone:
            return os.path.abspath(os.path.expanduser(self.cfg.evaluate.lpips_backbone))
        home = os.environ.get("TORCH_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
        return os.path.join(os.path.expanduser(home), "hub", "checkpoints",
                            "alexnet-owt-7be5be79.pth")

    def score_inputs(self, dataset: str, model: str, shard: str) -> dict[str, str]:
        """Shard, predictions, run table; plus the LPIPS backbone when it exists (so putting
        it in place later re-scores: Snakemake's 'input' rerun trigger)."""
        r = self.root
        return {
            **self.test_shards(dataset, shard),
            "pred": f"{r}/predictions/{dataset}/{model}/{shard}.h5",
            "run": f"{r}/runs/{dataset}/{model}/{shard}.parquet",
            **self._lpips_input(),
        }

    def _lpips_input(self) -> dict[str, str]:
        if "lpips" in self.metrics and os.path.isfile(self.lpips_backbone_path()):
            return {"lpips_backbone": self.lpips_backbone_path()}
        return {}

    def metrics_cell_inputs(self, dataset: str, model: str) -> list[str]:
        """The per-shard metric tables of a row that make its cells."""
        return [self.score_output().format(dataset=dataset, model=model, shard=i)
                for i in self.eval_shard_ids(dataset, model)]

    def made_from(self, dataset: str, subset: str, model: str) -> dict[str, Any]:
        """What a cell's rows must have been made from (checked by metrics_cell): the
        subset's test shards and, for learned rows, the weights that restore it. Params,
        not inputs: they reach the cell through its metric tables already (a smaller DAG
        at paper scale)."""
        ids = self.eval_shard_ids(dataset, model)
        return {"shards": [self.views[dataset].shard_path(subset, "test", i, self.root)
                           for i in ids],
                "weights": self.entry_weights(dataset, model, subset)
                if self.is_learned(model) else None}

    # ------------------------------------------------------------------ targets
    def shard_targets(self) -> list[str]:
        """Every shard (.h5) of the config: SIMART and the physics datasets."""
        return self.all_shards() + self.physics_dataset_targets()

    def stats_outputs(self) -> dict[str, str]:
        """Statistics tables of rule stats (docs/metrics.md), by output name."""
        base = f"{self.root}/tables/simart_stats"
        return {"csv": f"{base}.csv", "md": f"{base}.md", "parquet": f"{base}.parquet",
                "descriptive_csv": f"{base}_descriptive.csv",
                "descriptive_parquet": f"{base}_descriptive.parquet"}

    def report_page(self, name: str) -> str:
        """The web page of report table ``name`` (rule report_table; the tables:
        FigurePlan.report_tables)."""
        return f"{self.root}/report/tables/{name}.html"

    def aggregate_outputs(self) -> dict[str, str]:
        """The aggregated metrics table of rule aggregate_metrics, by output name."""
        base = f"{self.root}/tables/simart_metrics"
        return {"csv": f"{base}.csv", "md": f"{base}.md", "parquet": f"{base}.parquet"}

