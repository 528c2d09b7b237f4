"""The Slurm profile and the resource helpers: every rule it names exists, every rule
records a log and a benchmark, requests escalate on retries, and the settings that keep
executor plugin 2.8.0 from hanging stay in place. (The real-cluster run is .ci/check_slurm.sh.)
"""

import math
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
CI_OVERLAY = yaml.safe_load((ROOT / "profiles/slurm-ci/config.yaml").read_text())
WORKFLOW_PROFILE = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory):
    """The parsed workflow's rules under the paper preset, the profile's config (every
    dataset enabled; score_shard jobs of their own, which the embedded default folds into
    predict_shard)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    wd = tmp_path_factory.mktemp("wf")
    shutil.copy(ROOT / "configs" / "paper.yaml", wd / "config.yaml")
    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                          storage_settings=StorageSettings(), snakefile=ROOT / "Snakefile",
                          workdir=wd)._workflow
        return {r.name: r for r in wf.rules}


def test_every_rule_that_runs_has_log_and_benchmark(workflow_rules):
    runs = {n: r for n, r in workflow_rules.items() if r.is_run or r.is_shell or r.is_script}
    assert {"simulate_shard", "predict_shard", "benchmark_summary"} <= set(runs)
    missing = [n for n, r in runs.items() if not r.log or r.benchmark is None]
    assert not missing, f"rules without log: or benchmark: {missing}"
    below = [n for n, r in runs.items() if not str(r.benchmark).startswith("results/benchmarks/")]
    assert not below, f"benchmarks outside results/benchmarks/: {below}"


def test_rules_named_in_the_profile_exist(workflow_rules):
    named = set(PROFILE["set-resources"]) | set(PROFILE["set-threads"])
    named |= {r.strip() for r in PROFILE["slurm-array-jobs"].split(",")}
    unknown = named - set(workflow_rules)
    # Snakemake ignores unknown rule names silently: a renamed rule would lose its GPU
    assert not unknown, f"profiles/slurm/config.yaml names unknown rules: {unknown}"


def test_profile_requests_a_gpu_for_inference_and_partitions():
    predict = PROFILE["set-resources"]["predict_shard"]
    assert predict["gpu"] == 1 and predict["slurm_partition"] and predict["gpu_model"]
    assert PROFILE["default-resources"]["slurm_partition"]
    assert PROFILE["executor"] == "slurm" and PROFILE["retries"] >= 1
    assert PROFILE["slurm-status-command"] in {"sacct", "squeue"}


def test_array_jobs_come_with_unlimited_submission():
    # plugin 2.8.0 drops array-rule jobs that Snakemake selects in a partial batch
    # (jobs cap or max-jobs-per-timespan smaller than the ready jobs): the run hangs
    if PROFILE.get("slurm-array-jobs"):
        assert PROFILE["jobs"] == "unlimited"
        n = PROFILE["max-jobs-per-timespan"].split("/")[0]
        assert int(n) >= 5000, "fewer than the jobs that are ready at once in the paper plan"
        # the workflow profile (profiles/default) wins over this one: the same setting
        assert WORKFLOW_PROFILE["max-jobs-per-timespan"] == PROFILE["max-jobs-per-timespan"]


def test_scheduler_wakes_seldom_but_does_not_linger():
    # each wake-up of Snakemake's scheduler re-evaluates every ready job's params and stats
    # their inputs (Snakemake's default 100/1s: ~40 % of a core in `make run` on 2 cores);
    # each is a timer thread Snakemake waits for at exit (100 s: every small run lingered)
    per = WORKFLOW_PROFILE["max-jobs-per-timespan"].split("/")[1]
    assert per.endswith("s") and 2 <= int(per[:-1]) <= 5


def test_ci_overlay_uses_squeue_within_min_job_age():
    assert CI_OVERLAY["slurm-status-command"] == "squeue"
    up = (ROOT / ".ci/slurm-up.sh").read_text()
    min_job_age = int(re.search(r"SLURM_UP_MIN_JOB_AGE:-(\d+)", up).group(1))
    # the plugin silently falls back to sacct (no accounting storage: hangs) below this
    assert min_job_age >= 3 * CI_OVERLAY["slurm-init-seconds-before-status-checks"]
    assert not set(CI_OVERLAY) & {"set-resources", "default-resources", "set-threads"}, \
        "the CI overlay must test the users' placement, not replace it"


@pytest.fixture(scope="module")
def res():
    ns: dict = {}
    exec((ROOT / "rules/resources.smk").read_text(), ns)  # noqa: S102 (plain Python)
    return ns


def test_escalate_doubles_on_each_retry(res):
    f = res["escalate"](1500)
    assert [f({}, a) for a in (1, 2, 3)] == [1500, 3000, 6000]
    g = res["escalate"](lambda wc: wc["n"] * 10.5)
    assert g({"n": 2}, 1) == 21 and g({"n": 2}, 2) == 42


def test_shard_job_matches_shard_size(res):
    px = 1000 * 512**2  # paper shard
    r = res["shard_job"](px, bytes_per_px=12, px_per_min=2**22)
    assert r["mem_mb"]({}, 1) == 2000 + 12 * px // 2**20
    assert r["runtime"]({}, 1) == 10 + px // 2**22
    assert r["mem_mb"]({}, 2) == 2 * r["mem_mb"]({}, 1)
    assert r["runtime"]({}, 3) == 4 * r["runtime"]({}, 1)
    small = res["small_job"](mem_mb=4000, runtime=15)
    assert (small["mem_mb"]({}, 2), small["runtime"]({}, 2)) == (8000, 30)
    assert math.isclose(res["RETRY_GROWTH"], 2.0)


def test_cpu_only_predictions_share_the_output_pattern_and_run_without_a_gpu(workflow_rules):
    gpu, cpu = workflow_rules["predict_shard"], workflow_rules["predict_shard_cpu"]
    wc = {"dataset": "simart", "model": "any", "shard": "0000"}
    assert ([o.apply_wildcards(wc) for o in gpu.output]
            == [o.apply_wildcards(wc) for o in cpu.output])
    assert re.fullmatch(cpu.wildcard_constraints["model"], "bm3d")
    assert not re.fullmatch(gpu.wildcard_constraints["model"], "bm3d")
    assert re.fullmatch(gpu.wildcard_constraints["model"], "unet")
    assert not re.fullmatch(cpu.wildcard_constraints["model"], "unet")
    placed = PROFILE["set-resources"].get("predict_shard_cpu", {})
    assert "gpu" not in placed and "gpu_model" not in placed  # the CPU default partition


def test_training_gpus_come_from_the_config_and_the_profile_signals_before_the_limit(
        workflow_rules):
    """train_model asks for train.gpus GPUs (one process each) and CPUs for all of them; a
    `gpu` in the profile would override that. The stop signal is SIGTERM (Snakemake's job
    process inside srun dies on SIGUSR1), early enough to write last.pt."""
    from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

    from simart.config import validate_config

    train = PROFILE["set-resources"]["train_model"]
    assert not {"gpu", "gpus", "tasks", "gres"} & set(train), train
    extra = train["slurm_extra"].strip("'\"")
    m = re.fullmatch(r"--signal=TERM@(\d+)", extra)
    assert m and int(m.group(1)) >= 300, extra
    forbidden = [name for pattern, name in get_forbidden_slurm_options().items()
                 if re.search(pattern, extra)]
    assert not forbidden, forbidden  # the plugin refuses the job otherwise
    rule = workflow_rules["train_model"]
    cfg = validate_config(yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text()))
    assert rule.resources["gpu"] == cfg.train.gpus == 1
    assert rule.resources["_cores"] == cfg.train.gpus * max(1, cfg.train.threads)


def test_ci_training_config_trains_on_two_processes():
    from simart.config import validate_config

    cfg = validate_config(yaml.safe_load((ROOT / "tests/data/slurm_ci_train.yaml").read_text()))
    assert cfg.train.gpus == 2 and cfg.train.defaults.batch_size % 2 == 0
    base = yaml.safe_load((ROOT / "tests/data/slurm_ci.yaml").read_text())
    train = yaml.safe_load((ROOT / "tests/data/slurm_ci_train.yaml").read_text())
    assert {k: v for k, v in train.items() if k != "train"} == base  # the same shards


@pytest.mark.parametrize("rule", ["predict_shard", "predict_shard_cpu"])
def test_prediction_jobs_are_signalled_before_the_limit_but_not_at_their_start(rule):
    """Both prediction rules get SIGTERM (as train_model) early enough to finish a batch and
    write their resume file, yet after the shortest time limit a job can have (the 10-minute
    floor of resources.py: a lead as long as the limit would signal the job at its start)."""
    from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

    from simart.workflow import resources

    placed = PROFILE["set-resources"][rule]
    extra = placed["slurm_extra"].strip("'\"")
    m = re.fullmatch(r"--signal=TERM@(\d+)", extra)
    assert m and 120 <= int(m.group(1)) <= resources.FLOOR_MIN * 60 - 120, extra
    forbidden = [name for pattern, name in get_forbidden_slurm_options().items()
                 if re.search(pattern, extra)]
    assert not forbidden, forbidden
    assert rule == "predict_shard" or not {"gpu", "gpu_model", "slurm_partition"} & set(placed)


@pytest.mark.parametrize("configfile", ["tests/data/slurm_ci.yaml", "configs/paper.yaml"])
def test_a_job_of_a_replacing_run_gets_the_same_config(configfile, tmp_path):
    """Snakemake spawns its jobs (cluster jobs re-read the Snakefile) with --configfiles but
    without --replace-workflow-config: the main process's environment tells them, so a
    job's config is the given file alone -- not merged over config.yaml (the embedded
    default's score_in_prediction_job would drop score_shard from a standalone config's
    jobs; the paper preset would be refused as merged)."""
    import os
    import subprocess
    import sys

    from simart.workflow.smk import REPLACE_ENV

    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")

    def plan(**env):
        res = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "1",
             "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
             "--configfiles", str(ROOT / configfile)],
            capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
            env={**{k: v for k, v in os.environ.items() if k != REPLACE_ENV}, **env})
        return res.returncode, res.stdout + res.stderr

    rc, out = plan(**{REPLACE_ENV: "1"})  # as a job of a --replace-workflow-config run
    assert rc == 0, out[-3000:]
    assert "score_shard" in out.split("Job stats")[-1]  # both files leave it to the jobs
    rc, out = plan()  # merged over config.yaml, as before: refused or a different DAG
    assert rc != 0 if configfile.startswith("configs/") else "score_shard" not in out
