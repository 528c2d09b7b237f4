"""The real-data stage's part of the plan (rules/realdata.smk): which images, which rows,
which weights, which outputs -- from config ``real_data`` (simart.config.RealDataConfig).

Paths of a set are expanded once per run (files, folders, glob patterns:
:func:`simart.realdata.expand_paths`); problems (a path that matches nothing, an unknown
subset, a model that does not apply, incomplete operator parameters) are reported by
:meth:`RealPlan.real_data_error` before any job runs.
"""

from __future__ import annotations

from typing import Any

from simart.specs.models import model_applies


class RealPlan:
    """Mixin of :class:`simart.workflow.plan.Plan` (needs ``cfg``, ``root``, ``views``,
    ``models``, ``entry_weights``, ``is_learned``, ``predict_kwargs``, ``report_page``)."""

    _real_images: dict[str, dict[str, str]]

    def real_sets(self) -> list[str]:
        return list(self.cfg.real_data.sets)

    def real_set(self, name: str):
        return self.cfg.real_data.sets[name]

    def real_images(self, name: str) -> dict[str, str]:
        """{image name: file} of one set (expanded once)."""
        from simart.realdata import expand_paths

        cache = self.__dict__.setdefault("_real_images", {})
        if name not in cache:
            cache[name] = expand_paths(self.real_set(name).paths,
                                       f"real_data.sets.{name}.paths")
        return dict(cache[name])

    def real_models(self, name: str) -> list[str]:
        """The rows of a set: its ``models``, else every evaluated model that applies to its
        dataset; the noisy-input row (the input itself) always."""
        s = self.real_set(name)
        rows = list(s.models) if s.models is not None else [
            m for m in self.models
            if model_applies(m, s.dataset, self.cfg.evaluate.model_datasets)]
        return rows if "noisy" in rows else ["noisy", *rows]  # the input itself, always

    def real_data_error(self) -> str | None:
        """The first problem with config ``real_data`` (None when there is none)."""
        from simart.realdata import RealDataError, operator_problem

        for name, s in self.cfg.real_data.sets.items():
            key = f"real_data.sets.{name}"
            if s.dataset not in self.views:
                return (f"config key '{key}.dataset' = {s.dataset!r}: not an evaluated dataset "
                        f"(evaluate.datasets = {list(self.views)})")
            subsets = list(self.views[s.dataset].eval_subsets)
            if s.subset not in subsets:
                return (f"config key '{key}.subset' = {s.subset!r}: not a scored subset of "
                        f"{s.dataset}; allowed: {subsets}")
            for m in s.models or []:
                if m not in self.models:
                    return (f"config key '{key}.models': {m!r} is not in evaluate.models "
                            f"(its trained weights would not exist): {self.models}")
                if not model_applies(m, s.dataset, self.cfg.evaluate.model_datasets):
                    return f"config key '{key}.models': {m!r} does not run on {s.dataset}"
            problem = operator_problem(s.dataset, s.subset, s.operator, f"{key}.operator")
            if problem:
                return problem
            try:
                self.real_images(name)
            except RealDataError as exc:
                return str(exc)
        return None

    # ------------------------------------------------------------------ paths
    def real_stem(self, name: str, model: str, image: str) -> str:
        return f"{self.root}/real/{name}/{model}/{image}"

    def real_restore_inputs(self, name: str, model: str, image: str) -> dict[str, str]:
        """The image file, and the weights of a learned row."""
        s = self.real_set(name)
        inputs = {"image": self.real_images(name)[image]}
        if self.is_learned(model):
            inputs["weights"] = self.entry_weights(s.dataset, model, s.subset)
        return inputs

    def real_settings(self, name: str, model: str) -> dict[str, Any]:
        """What a restoration of the set depends on (params of rule real_restore)."""
        s = self.real_set(name)
        return {"dataset": s.dataset, "subset": s.subset, "operator": s.operator,
                "pixel_size_nm": s.pixel_size_nm, "crop": s.crop,
                "model_kwargs": self.predict_kwargs(model), "seed": self.cfg.seed}

    def real_tables(self, name: str | None = None) -> list[str]:
        """The per-image tables of one set (None: every set)."""
        names = self.real_sets() if name is None else [name]
        return [f"{self.real_stem(n, m, i)}.parquet" for n in names
                for m in self.real_models(n) for i in self.real_images(n)]

    def real_tiffs(self, name: str) -> list[str]:
        return [f"{self.real_stem(name, m, i)}.tif" for m in self.real_models(name)
                for i in self.real_images(name)]

    def real_table_outputs(self) -> dict[str, str]:
        base = f"{self.root}/tables/real_noref"
        return {"csv": f"{base}.csv", "md": f"{base}.md",
                "images_csv": f"{base}_images.csv", "images_parquet": f"{base}_images.parquet"}

    def real_figure_outputs(self, name: str) -> list[str]:
        return [f"{self.root}/figures/real_{name}.{ext}" for ext in self.cfg.figures.formats]

    def real_targets(self) -> list[str]:
        """Every output of the real-data stage (empty without sets), with the report page
        of its table (rule report_table)."""
        if not self.real_sets():
            return []
        return [*self.real_table_outputs().values(),
                *(p for n in self.real_sets() for p in self.real_figure_outputs(n)),
                self.report_page("real_noref")]
