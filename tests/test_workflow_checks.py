"""Plan-time checks (simart.workflow.checks): missing sources named with the command that
rebuilds them; unknown rule names of a profile."""

from pathlib import Path

import pytest
from badinput import assert_names

from simart.workflow.checks import (
    missing_sources,
    missing_sources_message,
    shard_outputs,
    training_outputs,
    unknown_profile_rules,
)

SHARD = "results/simart/shards/SEM/test/0000.h5"
TRAIN_SHARD = "results/simart/shards/SEM/train/0000.h5"
BEST = "results/models/simart/SEM/unet/best.pt"


def _touch(root: Path, *paths: str) -> None:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_text("x")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _touch(tmp_path, *shard_outputs([SHARD, TRAIN_SHARD]), *training_outputs([BEST]),
           "results/predictions/simart/unet/0000.h5")
    return tmp_path


def test_complete_tree_has_nothing_missing(tree):
    assert missing_sources([SHARD, TRAIN_SHARD], [BEST]) == {}


def test_fresh_tree_has_nothing_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert missing_sources([SHARD, TRAIN_SHARD], [BEST]) == {}


@pytest.mark.bad_input
@pytest.mark.parametrize("deleted,witness", [
    ([SHARD], "results/simart/shards/SEM/test/0000.parquet"),
    (["results/simart/shards/SEM/test/0000.parquet"], SHARD),
    ([SHARD, "results/simart/shards/SEM/test/0000.parquet"],
     "results/predictions/simart/unet/0000.h5"),
    ([TRAIN_SHARD, "results/simart/shards/SEM/train/0000.parquet"], BEST),
    ([BEST], "results/models/simart/SEM/unet/summary.json"),
    (training_outputs([BEST]), "results/predictions/simart/unet/0000.h5"),
])
def test_deleted_source_is_named_with_what_exists_and_the_command(tree, deleted, witness):
    for p in deleted:
        (tree / p).unlink()
    found = missing_sources([SHARD, TRAIN_SHARD], [BEST])
    assert set(found) == set(deleted) and set(found.values()) == {witness}
    msg = missing_sources_message(found)
    assert_names(msg, *deleted, witness, "snakemake --cores all " + deleted[0])


def test_profile_rule_names():
    assert unknown_profile_rules(["predict_shards", "train_model"],
                                 ["predict_shard", "train_model"]) == ["predict_shards"]
    assert unknown_profile_rules([], ["a"]) == []
