"""The workflow's plan (src/simart/workflow/plan.py, figures_plan.py): targets, evaluation rows,
rule inputs and the one list of figure/table targets, on the embedded default (config.yaml)
and the CI config (.ci/ci.yaml); and the rule files stay declarative (no functions outside
rules/common.smk, so `snakemake --lint` finds no "Mixed rules and functions")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simart.config import LEARNED_MODELS, validate_config
from simart.reporting.claims import PAPERS
from simart.workflow.figures_plan import FigurePlan, figure_targets

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "rules").glob("*.smk"))


def _raw(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _plan(raw: dict, **changes) -> FigurePlan:
    """The plan of ``raw`` with top-level sections updated by ``changes`` ({section: {k: v}})."""
    raw = {**raw}
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values}
    return FigurePlan(validate_config(raw))


@pytest.fixture(scope="module", params=["config.yaml", ".ci/ci.yaml"])
def plan(request) -> FigurePlan:
    return FigurePlan(validate_config(_raw(request.param)))


@pytest.fixture(scope="module")
def ci() -> FigurePlan:
    return FigurePlan(validate_config(_raw(".ci/ci.yaml")))


# --------------------------------------------------------------------------- targets


def test_targets_are_not_empty_and_under_the_root(plan):
    for targets in (plan.shard_targets(), plan.all_trained(), plan.all_cells(),
                    plan.figure_targets(), plan.all_targets()):
        assert targets and all(t.startswith("results/") for t in targets)
    other = FigurePlan(plan.cfg, "out")
    assert all(t.startswith("out/") for t in other.all_targets())


def test_every_figure_target_once_and_in_all(plan):
    figs = plan.figure_targets()
    assert len(figs) == len(set(figs)), [t for t in figs if figs.count(t) > 1]
    assert set(figs) <= set(plan.all_targets())
    assert figs == figure_targets(plan.cfg)
    formats = plan.cfg.figures.formats
    for name in ("fig1_artifacts", "simart_calibration", "fig2_modality_bars",
                 "fig5_qualitative", "fig6_statistics", "pinned_noise_curves",
                 "piddpm_eta_ablation", "condddpm_distributions"):
        for ext in formats:
            assert f"results/figures/{name}.{ext}" in figs, (name, ext)
    for table in ("simart_metrics.csv", "simart_metrics.md", "simart_stats.md",
                  "pcsd_table2.md", "piddpm_table.md", "pdanet_tables.md",
                  "condddpm_cond_ddpm.md", "claims_vs_measured.csv"):
        assert f"results/tables/{table}" in figs, table
    assert "results/reproduction_report.md" in figs


def test_claims_parts_are_the_paper_claims_tables(plan):
    parts = plan.claims_parts()
    assert parts == [t for t in plan.figure_targets() if "/claims_vs_measured_" in t]
    assert {Path(p).name for p in parts} == {f"claims_vs_measured_{p}.csv"
                                              for p in PAPERS}


def test_all_targets_pair_every_shard_and_training_output(plan):
    targets = set(plan.all_targets())
    for h5 in plan.shard_targets():
        assert h5 in targets and h5.replace(".h5", ".parquet") in targets
    for best in plan.all_trained():
        for name in ("best.pt", "summary.json", "log.csv"):
            assert best.replace("best.pt", name) in targets
    assert set(plan.all_cells()) <= targets


def test_ci_shard_counts(ci):
    # 16/4/4 images per modality in shards of 16 -> 1 shard per split, 4 modalities
    assert len(ci.all_shards()) == 4 * 3
    assert ci.simart_shards_by_modality()["TEM"] == [
        f"results/simart/shards/TEM/{s}/0000.h5" for s in ("train", "val", "test")]
    # stem_lattice 2 levels x (4/4 + 2/4 + 2/4) -> 1 shard per split
    assert len(ci.stem_lattice_shards()) == 2 * 3
    assert len(ci.physics_dataset_targets()) == (len(ci.stem_lattice_shards())
                                                 + len(ci.stm_cu111_shards())
                                                 + len(ci.lm_shards()))


# --------------------------------------------------------------------------- evaluation rows


def test_evaluation_rows_of_the_ci_config(ci):
    assert ci.studies == ["pcsd_eta0", *(f"pcsd_from_{m}" for m in ci.modalities)]
    simart = ci.cell_models("simart")
    assert simart[-len(ci.studies):] == ci.studies  # models first, then the study rows
    assert not [m for m in ci.cell_models("lm") if "_from_" in m]  # cross-modal: simart only
    assert ci.eval_entry("pcsd_eta0") == ("pcsd", {"eta": 0.0}, None)
    assert ci.eval_entry("pcsd_from_TEM") == ("pcsd", {}, "TEM")
    assert ci.eval_entry("unet") == ("unet", {}, None)
    assert ci.is_learned("pcsd_eta0") and not ci.is_learned("wiener")
    assert ci.learned_models() == [m for m in ci.models if m in LEARNED_MODELS]
    assert len(ci.all_cells()) == sum(len(v.eval_subsets) * len(ci.cell_models(d))
                                      for d, v in ci.views.items())


def test_rule_inputs_of_the_ci_config(ci):
    r = "results"
    assert ci.entry_weights("simart", "pcsd_from_TEM", "AFM") == f"{r}/models/simart/TEM/pcsd/best.pt"
    assert f"{r}/models/simart/TEM/pcsd/best.pt" in ci.all_trained()  # cross-modal training
    inputs = ci.predict_inputs("simart", "pcsd_eta0", "0000")
    assert inputs["AFM"] == f"{r}/simart/shards/AFM/test/0000.h5"
    assert {k for k in inputs if k.startswith("weights_")} == {
        f"weights_{m}" for m in ci.modalities}
    assert ci.predict_inputs("simart", "noisy", "0000") == ci.test_shards("simart", "0000")
    kw = ci.predict_kwargs("pcsd_eta0")
    assert kw["net_model"] == "pcsd" and kw["sampling"] == {"eta": 0.0}
    assert ci.predict_kwargs("wiener") == {}
    made = ci.made_from("simart", "SEM", "noisy")
    assert made["weights"] is None and made["shards"] == [f"{r}/simart/shards/SEM/test/0000.h5"]
    assert ci.metrics_cell_inputs("lm", "unet") == [
        f"{r}/metrics_shards/lm/unet/{i}.parquet" for i in ci.eval_shard_ids("lm", "unet")]
    train = ci.train_inputs("simart", "all", "pcsd")
    assert train["train"] == ci.views["simart"].shards(ci.modalities, "train")
    assert ci.train_cfg("lm") == ci.cfg_part("seed")
    assert set(ci.train_cfg("simart")) == {"seed", "image_size", "simart"}
    assert ci.eval_pixels("simart") == 4 * 16 * 64**2
    score = ci.score_inputs("lm", "unet", "0000")
    assert score["pred"] == f"{r}/predictions/lm/unet/0000.h5"


def test_wildcard_constraints_cover_every_subset(ci):
    wc = ci.wildcard_constraints()
    for v in ci.views.values():
        for s in v.subsets:
            assert re.fullmatch(wc["subset"], s)
    assert re.fullmatch(wc["dataset"], "stm_cu111") and re.fullmatch(wc["shard"], "0012")


# --------------------------------------------------------------------------- conditional figures


def test_figures_need_what_they_draw():
    raw = _raw(".ci/ci.yaml")
    simart_only = _plan(raw, evaluate={"datasets": ["simart"]})
    figs = simart_only.figure_targets()
    for absent in ("pinned_", "piddpm_", "pdanet_", "condddpm_"):
        assert not [t for t in figs if absent in t], absent
    assert simart_only.condddpm_inputs() == {} and simart_only.pdanet_cells() == []
    assert simart_only.claims_parts() == ["results/tables/claims_vs_measured_pcsd.csv"]
    assert "results/reproduction_report.md" in figs

    no_pcsd = _plan(raw, evaluate={
        "models": [m for m in raw["evaluate"]["models"] if not m.startswith("pcsd")],
        "variants": {}, "cross_modal": []})
    figs = no_pcsd.figure_targets()
    for name in ("fig3_ablations", "fig3_eta_sweep", "fig3_training_curves", "fig4_cross_modal"):
        assert not [t for t in figs if f"/{name}." in t], name
    assert no_pcsd.pcsd_cross_rows() == {} and "pcsd_log" not in no_pcsd.pcsd_tables_paths()

    ci = _plan(raw)
    assert [t for t in ci.figure_targets() if "/fig4_cross_modal." in t]
    assert ci.pcsd_cross_rows()["joint"] == "pcsd"


def test_paper_tables_name_models_that_are_missing(ci):
    missing = ci.missing("lm", ("pi_ddpm", "pi_ddpm_plain", "wiener"))
    assert "pi_ddpm" not in missing
    assert missing["pi_ddpm_plain"].startswith("not evaluated in this config")
    assert missing["wiener"].startswith("not run on lm")


# --------------------------------------------------------------------------- rule files


def test_rule_files_define_no_functions():
    files = [ROOT / "Snakefile", *(f for f in RULE_FILES if f.name != "common.smk")]
    found = [f"{f.relative_to(ROOT)}:{i}" for f in files
             for i, line in enumerate(f.read_text().splitlines(), 1) if re.match(r"^\s*def ", line)]
    assert not found, f"functions belong in src/simart/workflow/ (or rules/common.smk): {found}"


def test_snakemake_lint_sees_no_mixed_rules_and_functions():
    """snakemake.linting.snakefiles: a file with both `rule .+?:` and `def .+?:`."""
    for f in [ROOT / "Snakefile", *RULE_FILES]:
        text = f.read_text()
        assert not (re.search("rule .+?:", text) and re.search("def .+?:", text)), f.name


def test_plan_imports_neither_snakemake_nor_torch():
    code = ("import sys, yaml; from simart.config import validate_config; "
            "from simart.workflow.figures_plan import FigurePlan; "
            "p = FigurePlan(validate_config(yaml.safe_load(open('.ci/ci.yaml')))); "
            "p.all_targets(); p.pcsd_context(); p.pdanet_context(); p.condddpm_scale(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'snakemake', 'torch'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_paper_preset_without_replace_is_refused_before_any_job(tmp_path):
    """Merged over config.yaml (plain --configfile), the complete paper preset would take the
    embedded run's settings: the Snakefile stops, naming the flag that replaces instead."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "--configfile",
         "configs/paper.yaml", "--directory", str(tmp_path), "--snakefile",
         str(ROOT / "Snakefile")], capture_output=True, text=True, cwd=ROOT, check=False)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "complete preset" in res.stderr and "--replace-workflow-config" in res.stderr


@pytest.mark.parametrize("preset", ["configs/paper.yaml", "configs/workstation.yaml"])
def test_every_preset_plans_every_rule_family(preset, tmp_path):
    """Snakemake plans each complete preset alone (as its command runs it) with a job of every
    rule family: simulation, physics datasets, training, both prediction rules, scoring,
    statistics, every figure and table, the report (no leak of the embedded variants)."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "2",
         "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
         "--configfile", preset, "--replace-workflow-config"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    planned = {line.split()[0] for line in res.stdout.splitlines()
               if len(line.split()) == 2 and line.split()[1].isdigit()}
    from simart.specs.figures import FIGURES

    need = {"simulate_shard", "stem_lattice_shard", "stm_cu111_shard", "lm_shard",
            "train_model", "predict_shard", "predict_shard_cpu", "score_shard",
            "metrics_cell", "aggregate_metrics", "stats", *FIGURES}
    assert need <= planned, sorted(need - planned)
    _the_cost_model_counts_the_jobs_planned(preset, res.stdout)


def _the_cost_model_counts_the_jobs_planned(configfile, dry_run_stdout):
    """python -m simart.plan_cost's job count is Snakemake's (less rule all)."""
    from simart.workflow import cost

    total = next(int(line.split()[1]) for line in dry_run_stdout.splitlines()
                 if line.split()[:1] == ["total"])
    cfg = cost.load_config(configfile)
    lines = cost.project(cfg, cost.FlopCounter(cfg, cache_path=cost.FLOP_CACHE),
                         cost.stated_rates())
    assert sum(x.jobs for x in lines) == total - 1


def test_the_cost_model_counts_the_embedded_runs_jobs(tmp_path):
    """config.yaml scores in its prediction jobs: no score jobs in the count (their CPU time
    still counts)."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "2",
         "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
         "--configfile", str(ROOT / "config.yaml"), "--replace-workflow-config"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:]
    _the_cost_model_counts_the_jobs_planned("config.yaml", res.stdout)
