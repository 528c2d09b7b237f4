"""Per-rule summary of benchmark records (simart.benchmark_summary)."""

import pandas as pd
import pytest

from simart.benchmark_summary import (
    assign_rules,
    find_benchmark_files,
    find_usage_files,
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


def test_a_warm_jobs_own_memory_and_cpu_replace_the_clients(tmp_path, monkeypatch):
    """simart.warmstart: the record of a warm job measured the waiting client; the job's
    usage file (same rule and wildcards, written just before the record, same wall time)
    holds its own peak memory and CPU time. A stale or unrelated one changes nothing."""
    import json
    import os

    monkeypatch.chdir(tmp_path)
    b = tmp_path / "results/benchmarks"
    _write(b / "simulate/SEM_train_0000.tsv", [(10.0, 25.0, 1.0, 0.2)])  # warm
    _write(b / "simulate/SEM_val_0000.tsv", [(4.0, 300.0, 70.0, 3.0)])   # cold
    _write(b / "simulate/TEM_val_0000.tsv", [(4.0, 310.0, 70.0, 3.0)])   # stale usage file
    logs = tmp_path / "results/logs"
    logs.mkdir(parents=True)
    now = os.stat(b / "simulate/SEM_train_0000.tsv").st_mtime

    def usage(name, wildcards, s, age):
        p = logs / f"{name}.log.usage.json"
        p.write_text(json.dumps({"rule": "simulate_shard", "wildcards": wildcards,
                                 "max_rss": 700.0, "cpu_time": 9.5, "s": s, "status": 0}))
        os.utime(p, (now - age, now - age))

    usage("a", {"modality": "SEM", "split": "train", "shard": "0000"}, 9.6, 1)
    usage("b", {"modality": "TEM", "split": "val", "shard": "0000"}, 4.0, 3600)
    usage("c", {"modality": "SEM", "split": "test", "shard": "0000"}, 4.0, 1)  # no record
    table = write_summary(find_benchmark_files("results/benchmarks"), PATTERNS,
                          "results/benchmarks/summary.csv", "results/benchmarks/summary.md",
                          usage=find_usage_files("results/logs"))
    sim = table.set_index("rule").loc["simulate_shard"]
    assert sim["rss_mb_max"] == 700.0 and sim["rss_mb_mean"] == round((700 + 300 + 310) / 3, 2)
    assert sim["cpu_s_total"] == 9.5 + 3 + 3
    assert "1 jobs ran in a warm process" in (b / "summary.md").read_text()


def test_a_wildcard_named_twice_must_match_the_same_text():
    rx = pattern_regex("results/{dataset}/{model}_{dataset}.tsv")
    assert rx.match("results/lm/unet_lm.tsv").groupdict() == {"dataset": "lm", "model": "unet"}
    assert not rx.match("results/lm/unet_stm.tsv")
