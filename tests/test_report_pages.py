"""What `snakemake --report` shows: table pages (simart.workflow.report_pages), the report
flags of the figure files (simart.workflow.smk), the captions of every figure and table
(report/*.rst), the workflow description (report/workflow.rst) and .ci/check_report.py's
checks of a report's entries."""

from __future__ import annotations

import copy
import importlib.util
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from snakemake.io import get_flag_value, is_flagged
from snakemake.utils import update_config

from simart.config import validate_config
from simart.specs.figures import FIGURES
from simart.workflow import smk
from simart.workflow.figures_plan import REAL_CATEGORY, FigurePlan
from simart.workflow.report_pages import (
    cost_markdown,
    markdown_to_html,
    table_page,
    write_table_page,
)

ROOT = Path(__file__).resolve().parents[1]


class _Cells(HTMLParser):
    """Rows of <td>/<th> texts per table, and every tag seen."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parsed(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    return p


# --------------------------------------------------------------------------- Markdown -> HTML

MD = textwrap.dedent("""\
    # Title with `code`

    A paragraph with **bold**, *emphasis*, a [link](https://example.org) and <script>,
    continued on a second line; * p<.05 and snake_case_name stay as they are.

    | metric | model | value |
    |:---|---|--:|
    | psnr ↑ | `pcsd_no_physics` | 27.74 ± 2.30 |
    | nrmse | `a\\|b` | \\|\\|x\\|\\| |
    | short row |

    ## Notes

    - [a] missing: not run
    - [b] second
      continued

    1. first
    2. second

    ---
""")


def test_markdown_tables_headings_lists_and_inline_markup():
    html = markdown_to_html(MD)
    p = _parsed(html)
    assert p.tables == [[["metric", "model", "value"],
                         ["psnr ↑", "pcsd_no_physics", "27.74 ± 2.30"],
                         ["nrmse", "a|b", "||x||"],
                         ["short row", "", ""]]]
    assert 'style="text-align: left"' in html and 'style="text-align: right"' in html
    assert "<h1>Title with <code>code</code></h1>" in html and "<h2>Notes</h2>" in html
    assert "<strong>bold</strong>" in html and "<em>emphasis</em>" in html
    assert '<a href="https://example.org">link</a>' in html
    assert "&lt;script&gt;" in html and "<script>" not in html  # text is escaped
    assert "* p&lt;.05" in html and "snake_case_name" in html  # no stray emphasis
    assert "<li>[b] second continued</li>" in html and p.tags.count("li") == 4
    assert "<ol><li>first</li>" in html and "<hr>" in html


def test_pipe_text_without_a_delimiter_row_is_a_paragraph():
    html = markdown_to_html("a | b\nc | d\n")
    assert "<table" not in html and "<p>a | b c | d</p>" in html


def test_table_page_is_a_complete_self_contained_document():
    page = table_page(MD, "Table <2>")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Table &lt;2&gt;</title>" in page
    assert "http" not in page.replace("https://example.org", "")  # nothing loaded


def test_write_table_page_writes_the_page_and_one_log_line(tmp_path):
    src, out, log = tmp_path / "t.md", tmp_path / "r/t.html", tmp_path / "logs/t.log"
    src.write_text(MD, encoding="utf-8")
    write_table_page(src, out, log, "t")
    assert _parsed(out.read_text(encoding="utf-8")).tables
    assert "INFO simart:" in log.read_text() and "1 tables" in log.read_text()
    with pytest.raises(FileNotFoundError):
        write_table_page(tmp_path / "none.md", out, log, "t")
    assert "ERROR simart: job failed: FileNotFoundError" in log.read_text()


def test_cost_page_has_the_summary_numbers_as_tables():
    row = {"jobs": 3, "gpu_h": 1.5, "cpu_core_h": 0.25, "storage_gb": 2.0}
    summary = SimpleNamespace(
        gpu="H100 SXM", efficiency=0.35, rates_source="stated constants",
        by_family={"simulate": row, "train": {**row, "jobs": 0}},
        by_study={"main comparison": row, "empty": {**row, "jobs": 0}},
        total={**row, "jobs": 6}, storage_gb={"shards": 1.0, "predictions": 0.5})
    p = _parsed(markdown_to_html(cost_markdown(summary, "Cost")))
    family, study = p.tables
    assert family[-1] == ["total", "6", "1.5", "0.25", "2"]
    assert [r[0] for r in study[1:]] == ["main comparison"]  # a study without jobs: left out


# --------------------------------------------------------------------------- report flags


def test_report_formats_show_an_image_first_and_offer_one_vector_twin():
    assert smk.report_formats(["png", "pdf"]) == {"png": "image (PNG)", "pdf": "vector (PDF)"}
    assert smk.report_formats(["pdf", "png", "svg"]) == {"png": "image (PNG)",
                                                          "pdf": "vector (PDF)"}
    assert smk.report_formats(["svg"]) == {"svg": "image (SVG)"}
    assert smk.report_formats(["pdf"]) == {"pdf": "image (PDF)"}
    assert smk.report_formats([]) == {}
    # the report opens a toggle on its first value in sort order: the image
    for fmts in (["png", "pdf"], ["svg", "pdf"], ["png", "svg"]):
        assert min(smk.report_formats(fmts).values()).startswith("image")


def test_flagged_figure_files_make_one_entry_with_a_format_toggle():
    out = smk.flag_figure_files(["r/f.png", "r/f.pdf", "r/f.svg"], caption="c.rst",
                                category="SIMART", subcategory="Fig. 1", label="Fig. 1")
    png, pdf, svg = out
    assert is_flagged(png, "report") and is_flagged(pdf, "report")
    assert not is_flagged(svg, "report")  # a third format stays out of the report
    assert get_flag_value(png, "report").labels == {"figure": "Fig. 1", "format": "image (PNG)"}
    assert get_flag_value(pdf, "report").labels == {"figure": "Fig. 1",
                                                    "format": "vector (PDF)"}
    (one,) = smk.flag_figure_files(["r/f.png"], caption=None, category="c", subcategory="s",
                                   label="{realset}")
    assert get_flag_value(one, "report").labels == {"figure": "{realset}"}


@pytest.fixture(scope="module")
def ci_plan() -> FigurePlan:
    """The CI config: every figure and table spec applies."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(raw, yaml.safe_load((ROOT / ".ci/ci.yaml").read_text()))
    return FigurePlan(validate_config(raw), "results")


def test_every_figure_has_a_caption_and_one_entry_per_subcategory_label(ci_plan):
    seen: dict[tuple[str, str], list[str]] = {}
    for spec in FIGURES.values():
        if spec.figure_name is None:
            continue
        caption = smk.figure_caption_file(ROOT, spec)
        assert caption is not None, f"{spec.name}: no caption (spec or report/{spec.name}.rst)"
        assert (ROOT / "rules" / caption).resolve().is_file()
        outputs = smk.figure_outputs(ci_plan, ROOT, spec)["out_paths"]
        flags = [get_flag_value(p, "report") for p in outputs if is_flagged(p, "report")]
        assert len(flags) == 2  # ci.yaml: png and pdf, one toggle
        sub = flags[0].subcategory
        assert sub and all(f.subcategory == sub for f in flags)
        seen.setdefault((spec.category, sub), []).append(flags[0].labels["figure"])
    for where, labels in seen.items():
        assert len(labels) == len(set(labels)), where  # a figure label once per subcategory
    assert ("SIMART", "Fig. 1") in seen  # Fig. 1 is in the report


def test_every_markdown_table_has_a_page_with_caption_and_label(ci_plan):
    tables = ci_plan.report_tables()
    md = {p for p in ci_plan.figure_targets() if p.endswith(".md")}
    assert {t.source for t in tables.values()} == md
    figure_subs = {(s.category, s.subcategory or s.label) for s in FIGURES.values()
                   if s.figure_name is not None}
    by_where: dict[tuple[str, str], list[str]] = {}
    for name, t in tables.items():
        assert (ROOT / "report" / t.caption).is_file(), t.caption
        assert ci_plan.report_page(name) in ci_plan.figure_targets()
        assert (t.category, t.subcategory) not in figure_subs  # tables never share a toggle
        by_where.setdefault((t.category, t.subcategory), []).append(t.label)
    for where, labels in by_where.items():
        assert len(labels) == len(set(labels)), where


def test_real_table_page_is_a_target_of_the_real_stage(ci_plan, tmp_path):
    (tmp_path / "a.tif").write_bytes(b"")
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["real_data"] = {"sets": {"s": {"paths": [str(tmp_path / "a.tif")],
                                       "dataset": "simart", "subset": "SEM"}}}
    plan = FigurePlan(validate_config(raw), "results")
    assert plan.report_tables()["real_noref"].category == REAL_CATEGORY
    assert plan.report_page("real_noref") in plan.real_targets()
    assert plan.report_page("real_noref") not in plan.figure_targets()


def test_every_caption_renders(ci_plan):
    """Table captions with the validated config (smk.table_caption, strict: a key that
    does not exist fails); the figure captions Snakemake renders itself with the job."""
    for name in ci_plan.report_tables():
        assert len(smk.table_caption(ROOT, ci_plan, name)) > 100, name
    spec = FIGURES["fig1_artifacts"]
    job = SimpleNamespace(params=SimpleNamespace(kwargs=ci_plan.figure_kwargs(spec)),
                          config=ci_plan.cfg.model_dump(mode="json"))
    text = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        (ROOT / "report/fig1_artifacts.rst").read_text()).render(snakemake=job)
    assert "wiener" in text and "{{" not in text


def _description(config: dict, files: list) -> str:
    """report/workflow.rst as Snakemake renders it (Jinja2, then docutils to HTML)."""
    from docutils.core import publish_parts

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    links = "".join(f"\n.. _{f.name}: javascript:void(0)\n" for f in files)
    text = env.from_string((ROOT / "report/workflow.rst").read_text() + links).render(
        snakemake=SimpleNamespace(config=config), categories={}, files=files)
    return publish_parts(text, writer="html", settings_overrides={  # as Snakemake
        "report_level": 2, "halt_level": 2})["html_body"]


def test_workflow_description_says_what_ran_and_the_cost_when_there(tmp_path, monkeypatch):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    html = _description(raw, [])
    assert "What ran" in html and "snakemake plan_cost" in html
    assert "simart, stem_lattice, stm_cu111, lm" in html
    # a preset leaves keys out: the description still renders
    assert "What ran" in _description(yaml.safe_load((ROOT / "configs/paper.yaml")
                                                     .read_text()), [])
    monkeypatch.chdir(tmp_path)  # Snakemake renders the report in the run's directory
    (tmp_path / "results/report").mkdir(parents=True)
    (tmp_path / "results/plan_cost.txt").write_text("TOTAL  62  0  6.76\n")
    entry = SimpleNamespace(name="plan_cost.html",
                            path=Path("results/report/plan_cost.html"))
    html = _description(raw, [entry])
    assert "TOTAL  62  0  6.76" in html and "snakemake plan_cost</span>" not in html


# --------------------------------------------------------------------------- the CI check


def _check_report():
    spec = importlib.util.spec_from_file_location("check_report", ROOT / ".ci/check_report.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_report"] = mod
    spec.loader.exec_module(mod)
    return mod


def _entry(name: str, mime: str, labels=None, caption="<p>c</p>") -> dict:
    return {"name": name, "mime_type": mime, "labels": labels, "caption": caption}


def test_check_report_names_what_a_reader_would_miss(tmp_path):
    cr = _check_report()
    (tmp_path / "results/figures").mkdir(parents=True)
    (tmp_path / "results/tables").mkdir(parents=True)
    for f in ("results/figures/fig1.png", "results/figures/fig1.pdf",
              "results/tables/t.md", "results/tables/u.md"):
        (tmp_path / f).write_text("x")
    png = {"figure": "Fig. 1", "format": "image (PNG)"}
    pdf = {"figure": "Fig. 1", "format": "vector (PDF)"}
    good = {"results/figures/fig1.png": _entry("fig1.png", "image/png", png),
            "results/figures/fig1.pdf": _entry("fig1.pdf", "application/pdf", pdf),
            "results/report/tables/t.html": _entry("t.html", "text/html", {"table": "T"}),
            "results/report/tables/u.html": _entry("u.html", "text/html", {"table": "U"})}
    cats = {"SIMART": {"Fig. 1": ["results/figures/fig1.png", "results/figures/fig1.pdf"],
                       "Tables": ["results/report/tables/t.html",
                                  "results/report/tables/u.html"]}}
    assert cr.static_problems(good, cats, "<h2>What ran</h2>", tmp_path) == []

    bad = copy.deepcopy(good)
    del bad["results/report/tables/u.html"]
    bad["results/tables/u.md"] = _entry("u.md", "text/markdown")  # download only
    bad["results/figures/fig1.pdf"]["labels"] = {"figure": "Fig. 1"}  # no toggle: twice
    bad["results/figures/fig1.png"]["caption"] = ""
    problems = "\n".join(cr.static_problems(bad, cats, "", tmp_path))
    assert "u.md: text/markdown is only a download" in problems
    assert "table u: no page" in problems
    assert "do not make one toggle" in problems and "fig1.png: no caption" in problems
    assert "workflow description" in problems

    rec = {"app": True, "entries": {
        "a.png": {"view": "img", "shown": True, "width": 0, "height": 0, "error": "bad"},
        "t.html": {"view": "html", "shown": True, "tables": 0, "rows": 0},
        "f.pdf": {"view": "pdf", "shown": False}}}
    problems = "\n".join(cr.rendering_problems(rec))
    assert "a.png: the image does not decode" in problems
    assert "t.html: the page has no table rows" in problems
    assert "f.pdf: opening it shows nothing" in problems
