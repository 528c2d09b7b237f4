"""The figure specs (simart.specs.figures): every entry names plan methods that exist and a
function its keyword arguments and outputs bind to; the plan's figure targets are the
applicable entries' outputs; one generic rule family and script run them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml

from simart.config import validate_config
from simart.provenance import code_closure, code_version_of
from simart.specs.figures import FIGURES, draw_figure
from simart.workflow.figures_plan import FigurePlan
from simart.workflow.plan import flat_paths

ROOT = Path(__file__).resolve().parents[1]
SPECS = list(FIGURES.values())


@pytest.fixture(scope="module", params=["config.yaml", ".ci/ci.yaml", "configs/paper.yaml",
                                              "configs/workstation.yaml"])
def raw_plan(request):
    raw = yaml.safe_load((ROOT / request.param).read_text())
    return raw, FigurePlan(validate_config(raw))


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_names_plan_methods_and_a_function_they_bind_to(spec, raw_plan):
    _, plan = raw_plan
    for method in (spec.inputs, spec.kwargs, spec.outputs, spec.applies):
        assert method is None or callable(getattr(plan, method, None)), (spec.name, method)
    kw = dict(plan.figure_kwargs(spec))
    for key, (reader, args) in spec.loaders().items():
        assert set(args) <= set(kw), (spec.name, key, args)
        assert reader.rpartition(".")[0] in spec.modules()
        for a in args:
            kw.pop(a)
        kw[key] = object()
    outputs = plan.figure_outputs(spec)
    inspect.signature(spec.fn).bind(**kw, **outputs)  # raises on a missing/unknown argument
    assert all(p.startswith("results/") for p in flat_paths(outputs))
    if spec.figure_name is not None:
        assert outputs["out_paths"] == plan.figure_files(spec.figure_name)
    assert "{{" not in plan.figure_caption(spec), spec.name


def test_figure_targets_are_the_applicable_specs_outputs(raw_plan):
    _, plan = raw_plan
    targets = plan.figure_targets()
    assert len(targets) == len(set(targets))
    for spec in SPECS:
        files = set(flat_paths(plan.figure_outputs(spec)))
        assert (files <= set(targets)) == plan.figure_applies(spec), spec.name
        if not plan.figure_applies(spec):
            assert not files & set(targets), spec.name


def test_rule_names_logs_and_captions_of_the_specs():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    assert {s.figure_name for s in SPECS if s.figure_name} >= {
        "fig1_artifacts", "simart_calibration", "fig2_modality_bars", "fig6_statistics",
        "pinned_noise_curves", "piddpm_eta_ablation", "pdanet_fig3_simulated",
        "condddpm_distributions", "condddpm_uncertainty_maps"}
    assert all(s.summary and s.label for s in SPECS)
    assert all(s.caption for s in SPECS if s.figure_name and s.name != "fig1_artifacts")
    assert (ROOT / "report/figure.rst").read_text().strip() == "{{ snakemake.params.caption }}"


def test_one_generic_rule_family_and_script():
    """The figure and table rules come from the specs (rules/figures.smk); every other rule
    runs the script of its own name."""
    loop = (ROOT / "rules/figures.smk").read_text()
    assert "for spec in PLAN.figure_specs():" in loop and '"../workflow_scripts/figure.py"' in loop
    for f in sorted((ROOT / "rules").glob("*.smk")):
        text = f.read_text()
        assert "\ndef " not in text or f.name == "common.smk", f.name
        for block in text.split("\nrule ")[1:]:
            name = block.split(":", 1)[0]
            script = re.search(r'script:\s*"\.\./workflow_scripts/(\w+)\.py"', block)
            assert script is None or script.group(1) == name, (f.name, name)
        for spec in SPECS:
            assert f"rule {spec.name}:" not in text, (f.name, spec.name)
    assert not list((ROOT / "workflow_scripts").glob("fig_*.py"))
    for spec in SPECS:  # no thin script left beside the generic one
        assert not (ROOT / "workflow_scripts" / f"{spec.name}.py").exists(), spec.name


def test_the_paper_tables_are_table_specs():
    tables = {"pcsd_tables", "pinned_tables", "piddpm_tables", "pdanet_tables",
              "condddpm_tables", "calibration_table", "pdanet_claims", "condddpm_claims"}
    assert tables <= {s.name for s in SPECS if s.kind == "table"}
    assert [s.name for s in SPECS if s.kind == "report"] == ["reproduction_report"]
    for spec in SPECS:
        if spec.kind != "figure":
            assert spec.figure is None and spec.outputs and not spec.caption, spec.name
    cal = FIGURES["calibration_table"]
    assert (cal.mem_mb, cal.runtime) == (4000, 120)
    assert all((s.mem_mb, s.runtime) == (2000, 15) for s in SPECS if s.name in tables - {
        "calibration_table"})


def test_caption_files_of_the_pcsd_tables(raw_plan):
    _, plan = raw_plan
    spec = FIGURES["pcsd_tables"]
    outputs = plan.figure_outputs(spec)
    assert set(spec.caption_files) == {k for k in outputs if k.endswith("_md")}
    for f in spec.caption_files.values():
        assert (ROOT / "report" / f).is_file(), f
    assert all(not s.caption_files for s in SPECS if s is not spec)


def test_reproduction_report_reads_the_claims_parts(raw_plan):
    _, plan = raw_plan
    spec = FIGURES["reproduction_report"]
    targets = plan.figure_targets()
    assert plan.figure_applies(spec) == bool(plan.claims_parts())
    assert set(plan.figure_inputs(spec)) == set(plan.claims_parts()) | set(
        plan.training_summaries())
    assert all(p in targets for p in plan.claims_parts())


def test_pcsd_write_outputs_wants_every_output():
    from simart.reporting.pcsd import write_outputs

    with pytest.raises(TypeError, match="missing"):
        write_outputs({}, {}, table2_md="x.md")


def test_code_version_of_a_spec_follows_its_function_module():
    script = ROOT / "workflow_scripts/figure.py"
    pcsd, pinned = FIGURES["fig2_modality_bars"], FIGURES["pinned_noise_curves"]
    assert code_version_of(script, pcsd.modules()) != code_version_of(script, pinned.modules())
    assert code_version_of(script, pcsd.modules()) == code_version_of(
        script, FIGURES["fig3_ablations"].modules())  # same module
    assert "simart.specs.figures" in code_closure(script)
    assert len(code_version_of(script, ("pandas",))) == 16  # not simart: counts for nothing


def test_draw_figure_reads_what_load_says(tmp_path):
    import pandas as pd

    table = tmp_path / "cal.csv"
    pd.DataFrame({"a": [1]}).to_csv(table, index=False)
    seen = {}
    spec = FIGURES["calibration_figure"]
    import simart.figures.calibration as mod

    def fake(table, out_paths, dpi=150, title=""):
        seen.update(table=table, out_paths=out_paths, dpi=dpi, title=title)

    orig = mod.draw
    mod.draw = fake
    try:
        draw_figure(spec.name, {"table": str(table), "dpi": 10, "title": "t"},
                    {"out_paths": ["x.png"]})
    finally:
        mod.draw = orig
    assert isinstance(seen["table"], pd.DataFrame) and seen["out_paths"] == ["x.png"]
