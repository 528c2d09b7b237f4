# Helpers shared by every rule file: config validation (before any job runs), targets.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from simart.config import LEARNED_MODELS, SPLITS, ConfigError, n_shards, validate_config  # noqa: E402
from simart.data.datasets import MODEL_UNPAIRED, dataset_views, model_applies  # noqa: E402
from simart.provenance import code_version  # noqa: E402
from simart.workflow.checks import (  # noqa: E402
    missing_sources,
    missing_sources_message,
    shard_outputs,
    training_outputs,
    unknown_profile_rules,
)

try:
    CFG = validate_config(config)
except ConfigError as _err:
    sys.stderr.write(f"\nSIMART config error: {_err}\n\n")
    raise SystemExit(1)

MODALITIES = list(CFG.simart.modalities)
MODELS = list(CFG.evaluate.models)
METRICS = list(CFG.evaluate.metrics)
R = "results"
# Datasets as evaluation and training see them (simart.data.datasets): subsets, which
# subsets learned models train on, which are scored, shards per split.
VIEWS = {k: v for k, v in dataset_views(CFG).items() if k in CFG.evaluate.datasets}
ALL_SUBSETS = sorted({s for v in dataset_views(CFG).values() for s in v.subsets})
# Evaluation rows besides the models (no training of their own): sampling variants of a
# trained model, and the cross-modal rows "<model>_from_<modality>" (simart only).
STUDIES = CFG.evaluate.study_names(MODALITIES)
EVAL_NAMES = MODELS + STUDIES


wildcard_constraints:
    modality="|".join(MODALITIES),
    split="train|val|test",
    shard=r"\d{4}",
    model=r"[A-Za-z0-9_]+",
    dataset="|".join(["simart", "stem_lattice", "stm_cu111", "lm"]),
    subset="|".join(ALL_SUBSETS),


def code(script):
    """Version of the library code a rule's script can import (simart.provenance): a param
    of every rule, so that editing that code reruns the rule (Snakemake's own code trigger
    sees only the script)."""
    return code_version(Path(workflow.basedir) / "workflow_scripts" / script)


def cfg_part(*keys):
    """The config sections a rule depends on (params: a change reruns only those jobs)."""
    dumped = CFG.model_dump(mode="json")
    return {k: dumped[k] for k in keys}


def shard_ids(split):
    return [f"{i:04d}" for i in range(n_shards(CFG, split))]


def all_shards():
    return [
        f"{R}/simart/shards/{m}/{s}/{i}.h5"
        for m in MODALITIES
        for s in SPLITS
        for i in shard_ids(s)
    ]


def eval_entry(name):
    """(trained model, set_sampling options, fixed training group or None) of an
    evaluation row: a model, a variant (evaluate.variants) or a cross-modal row."""
    if name in CFG.evaluate.active_variants():
        var = CFG.evaluate.variants[name]
        return var.model, dict(var.sampling), None
    for m in (m for m in CFG.evaluate.cross_modal if m in MODELS):
        for mod in MODALITIES:
            if name == f"{m}_from_{mod}":
                return m, {}, mod
    return name, {}, None


def applies(name, dataset):
    """Whether evaluation row ``name`` runs on ``dataset`` (simart.data.datasets)."""
    net, _, group = eval_entry(name)
    if group is not None:
        return dataset == "simart"
    return model_applies(net, dataset, CFG.evaluate.model_datasets)


def cell_models(dataset):
    """Evaluation rows of ``dataset``: models that apply to it, then its study rows."""
    return [m for m in EVAL_NAMES if applies(m, dataset)]


def is_learned(name):
    return eval_entry(name)[0] in LEARNED_MODELS


def learned_models():
    return [m for m in MODELS if m in LEARNED_MODELS]


def eval_shard_ids(dataset, name):
    """Test shard indices a row is scored on (study rows: evaluate.study_test_shards)."""
    ids = VIEWS[dataset].shard_ids("test")
    if name in STUDIES and CFG.evaluate.study_test_shards:
        ids = ids[:CFG.evaluate.study_test_shards]
    return ids


def all_cells():
    """Every benchmark cell: results/metrics/{dataset}/{subset}/{model}.parquet."""
    return [f"{R}/metrics/{d}/{s}/{m}.parquet" for d, v in VIEWS.items()
            for s in v.eval_subsets for m in cell_models(d)]


def weights_path(dataset, group, model):
    return f"{R}/models/{dataset}/{group}/{model}/best.pt"


def entry_weights(dataset, name, subset):
    """The best.pt that restores ``subset`` for evaluation row ``name``."""
    net, _, group = eval_entry(name)
    return weights_path(dataset, group or VIEWS[dataset].group_of(subset, net), net)


def all_trained():
    out = [weights_path(d, g, m) for d, v in VIEWS.items() for m in learned_models()
           if model_applies(m, d, CFG.evaluate.model_datasets) for g in v.groups_for(m)]
    if "simart" in VIEWS:
        out += [weights_path("simart", mod, m) for m in CFG.evaluate.cross_modal
                if m in MODELS for mod in MODALITIES]
    return out


def unpaired_inputs(dataset, model):
    """Shards of the unpaired pools a model trains with (simart.data.datasets:
    MODEL_UNPAIRED): {"u" | "xu": train shards of the pool's subset}."""
    v, out = VIEWS[dataset], {}
    for field, subset in MODEL_UNPAIRED.get(dataset, {}).items():
        if field in model_unpaired_fields(model) and subset in v.subsets:
            out[field] = v.shards((subset,), "train", R)
    return out


def model_unpaired_fields(model):
    from simart.data.datasets import unpaired_fields

    return unpaired_fields(model)


def stats_outputs():
    """Statistics tables of rules/stats.smk (SPEC §9), by output name."""
    base = f"{R}/tables/simart_stats"
    return {"csv": f"{base}.csv", "md": f"{base}.md", "parquet": f"{base}.parquet",
            "descriptive_csv": f"{base}_descriptive.csv",
            "descriptive_parquet": f"{base}_descriptive.parquet"}


def seed003_outputs():
    """Seed 003 Tables I and II (rules/figures.smk), by output name."""
    base = f"{R}/tables/seed003_tables"
    return {"md": f"{base}.md", "csv": f"{base}.csv", "ordering": f"{base}_ordering.csv"}


def seed003_cells():
    """The stm_cu111 cells seed 003's tables read (none when the dataset is off)."""
    if "stm_cu111" not in VIEWS:
        return []
    return [f"{R}/metrics/stm_cu111/{s}/{m}.parquet"
            for s in VIEWS["stm_cu111"].eval_subsets for m in cell_models("stm_cu111")]


def seed004_outputs():
    """Seed 004 measurements from cond_ddpm's predictions (rules/figures.smk)."""
    base = f"{R}/tables/seed004_cond_ddpm"
    return {"md": f"{base}.md", "curve": f"{base}_curve.csv",
            "uncertainty": f"{base}_uncertainty.csv"}


def seed004_inputs():
    """{preds: [per test shard], shards: [{mode: shard}]} of cond_ddpm on lm (empty when
    it is not evaluated there)."""
    if "lm" not in VIEWS or "cond_ddpm" not in cell_models("lm"):
        return {}
    v = VIEWS["lm"]
    ids = eval_shard_ids("lm", "cond_ddpm")
    return {"preds": [f"{R}/predictions/lm/cond_ddpm/{i}.h5" for i in ids],
            "shards": [{s: v.shard_path(s, "test", i, R) for s in v.eval_subsets} for i in ids]}


#: outputs of the figure/table rule files (rules/fig_*.smk append theirs when included);
#: read by figure_targets() only after every rule file is parsed (rule all, rule figures)
FIGURE_TARGETS = []


def figure_targets():
    """Every table and figure `snakemake figures` regenerates."""
    return [
        f"{R}/tables/simart_metrics.csv",
        f"{R}/tables/simart_metrics.md",
        stats_outputs()["md"],
        *[f"{R}/figures/fig1_artifacts.{ext}" for ext in CFG.figures.formats],
        *([seed003_outputs()["md"]] if seed003_cells() else []),
        *([seed004_outputs()["md"]] if seed004_inputs() else []),
        *FIGURE_TARGETS,
        *(reproduction_outputs().values() if claims_parts() else []),
    ]


def claims_parts():
    """The per-seed claims_vs_measured tables the figure rule files registered."""
    return [t for t in FIGURE_TARGETS if "/claims_vs_measured_" in t]


def reproduction_outputs():
    return {"md": f"{R}/reproduction_report.md",
            "csv": f"{R}/tables/claims_vs_measured.csv"}


def fig1_models():
    """Columns of Fig. 1: figures.fig1_models that run on simart."""
    return [m for m in CFG.figures.fig1_models if m in MODELS and applies(m, "simart")]


def fig1_inputs():
    """Paths Fig. 1 reads: first test shard, its predictions and the cell tables."""
    models = fig1_models()
    return {
        "shards": {m: f"{R}/simart/shards/{m}/test/0000.h5" for m in MODALITIES},
        "predictions": {
            m: {k: f"{R}/predictions/simart/{k}/0000.h5" for k in models} for m in MODALITIES
        },
        "cell_tables": {
            m: {k: f"{R}/metrics/simart/{m}/{k}.parquet" for k in models} for m in MODALITIES
        },
    }


def flat_paths(tree):
    """Every path in a tree of dicts and lists of paths."""
    if isinstance(tree, dict):
        return [p for v in tree.values() for p in flat_paths(v)]
    if isinstance(tree, list):
        return [p for v in tree for p in flat_paths(v)]
    return [tree]


if CFG.sources.user_dir:
    # An empty or missing user folder stops the run before any job (named in the message).
    from simart.simulate.sources import SourceError, list_user_images

    try:
        list_user_images(CFG.sources.user_dir)
    except SourceError as _err:
        sys.stderr.write(f"\nSIMART config error: sources.user_dir: {_err}\n\n")
        raise SystemExit(1)


def made_from(wc):
    """What a cell's rows must have been made from (checked by gather_cell): the subset's
    test shards and, for learned rows, the weights that restore it. Params, not inputs:
    they reach the cell through its metric tables already (a smaller DAG at paper scale)."""
    ids = eval_shard_ids(wc.dataset, wc.model)
    return {"shards": [VIEWS[wc.dataset].shard_path(wc.subset, "test", i, R) for i in ids],
            "weights": entry_weights(wc.dataset, wc.model, wc.subset)
            if is_learned(wc.model) else None}


def check_plan(shards, trained):
    """Run once the rules are defined (end of the Snakefile), before any job."""
    import difflib

    rs = workflow.resource_settings
    named = [*(getattr(rs, "overwrite_resources", None) or {}),
             *(getattr(rs, "overwrite_threads", None) or {})]
    rules_now = [r.name for r in workflow.rules]
    unknown = unknown_profile_rules(named, rules_now)
    if unknown:
        hints = "; ".join(f"{u!r}: did you mean {difflib.get_close_matches(u, rules_now, 1)}?"
                          for u in unknown)
        sys.stderr.write(
            f"\nSIMART profile error: set-resources / set-threads name rules this workflow "
            f"does not have: {unknown} ({hints}). Rules: {sorted(rules_now)}\n\n")
        raise SystemExit(1)
    missing = missing_sources(shards, trained, R)
    if missing:
        sys.stderr.write("\n" + missing_sources_message(missing) + "\n\n")
