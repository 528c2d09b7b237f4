"""Per-rule summary of benchmark records (simart.benchmark_summary)."""

import pandas as pd
import pytest

from simart.benchmark_summary import (
    assign_rules,
    find_benchmark_files,
    pattern_regex,
    summarize,
    write_summary,
)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
PATTERNS = {
    # as Snakemake renders them: global wildcard constraints inline, braces inside regexes
    "simulate_shard": "results/benchmarks/simulate/{modality,SEM|TEM}_{split,train|val|test}"
                      "_{shard,\\d{4}}.tsv",
    "predict_shard": "results/benchmarks/predict/{modality,SEM|TEM}_{model,[a-z0-9_]+}"
                     "_{shard,\\d{4}}.tsv",
    "stats": "results/benchmarks/stats.tsv",
    "anything": "results/benchmarks/{name}.tsv",
}


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(
        f"{s}\t0:00:0{int(s)}\t{rss}\t1\t1\t1\t0\t0\t{load}\t{cpu}\n" for s, rss, load, cpu in rows))


@pytest.mark.parametrize("path, matches", [
    ("results/benchmarks/simulate/SEM_train_0003.tsv", True),
    ("results/benchmarks/simulate/SEM_train_003.tsv", False),   # \d{4}
    ("results/benchmarks/simulate/AFM_train_0003.tsv", False),  # not a configured modality
    ("results/benchmarks/simulate/SEM_train_0003.tsvx", False),
])
def test_pattern_regex_honours_constraints_with_braces(path, matches):
    assert bool(pattern_regex(PATTERNS["simulate_shard"]).match(path)) is matches


def test_plain_wildcards_match_anything_and_literals_are_escaped():
    rx = pattern_regex("a.b/{x}_{y}.tsv")
    assert rx.match("a.b/1_2_3.tsv")
    assert not rx.match("aXb/1_2.tsv")


def test_most_specific_pattern_wins():
    files = ["results/benchmarks/stats.tsv", "results/benchmarks/fig1.tsv",
             "results/benchmarks/predict/TEM_bm3d_0000.tsv", "elsewhere/x.tsv"]
    got = assign_rules(files, PATTERNS)
    assert got == {"results/benchmarks/stats.tsv": "stats",
                   "results/benchmarks/fig1.tsv": "anything",
                   "results/benchmarks/predict/TEM_bm3d_0000.tsv": "predict_shard"}


def test_summary_per_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = tmp_path / "results/benchmarks"
    _write(b / "simulate/SEM_train_0000.tsv", [(2.0, 100.0, 50.0, 1.0)])
    _write(b / "simulate/SEM_val_0000.tsv", [(4.0, 300.0, 70.0, 3.0)])
    _write(b / "stats.tsv", [(1.5, "NA", 10.0, 0.5)])        # too short to measure memory
    (b / "predict").mkdir()
    (b / "predict/SEM_noisy_0000.tsv").write_text("")      # empty record: skipped
    files = find_benchmark_files("results/benchmarks")
    table = write_summary(files, PATTERNS, "results/benchmarks/summary.csv",
                          "results/benchmarks/summary.md")
    assert list(table["rule"]) == ["simulate_shard", "stats"]   # by total wall time
    sim = table.iloc[0]
    assert sim["jobs"] == 2 and sim["wall_s_total"] == 6.0 and sim["wall_s_max"] == 4.0
    assert sim["rss_mb_mean"] == 200.0 and sim["rss_mb_max"] == 300.0
    assert sim["cpu_s_total"] == 4.0 and sim["load_pct_mean"] == 60.0
    assert pd.isna(table.iloc[1]["rss_mb_max"])
    assert pd.read_csv("results/benchmarks/summary.csv").shape == (2, 9)
    md = (b / "summary.md").read_text()
    assert "| simulate_shard |" in md.replace("  ", " ").replace("  ", " ")
    assert "3 jobs, 7.5 s wall" in md


def test_empty_summary(tmp_path):
    assert summarize(pd.DataFrame(columns=["rule", "file", "s"])).empty
    table = write_summary([], PATTERNS, tmp_path / "s.csv", tmp_path / "s.md")
    assert table.empty and "no benchmark records" in (tmp_path / "s.md").read_text()
