"""The reproduction report pairs every typed-in claim with a measurement or says it has none."""

import numpy as np
import pandas as pd
import pytest

from simart.reporting.claims import PAPERS, load_claims
from simart.reporting.reproduction import (
    KEY,
    pair_with_claims,
    read_parts,
    write_report,
    write_report_with_hardware,
)


def test_claims_file_is_well_formed():
    claims = load_claims()
    assert not claims.duplicated(KEY).any(), claims[claims.duplicated(KEY, keep=False)]
    assert set(claims["paper"]) <= set(PAPERS)
    assert np.isfinite(claims["value"]).all()
    assert (claims["source"] != "").all()


def _claims() -> pd.DataFrame:
    return pd.DataFrame({"paper": ["pdanet", "pdanet", "pdanet"], "table": ["I", "I", "II"],
                         "row": ["PDA-Net", "PDA-Net", "PDA-Net"],
                         "metric": ["psnr", "ssim", "piqe"], "value": [25.54, 0.9332, 56.8],
                         "scale": ["dB", "", ""], "source": ["t"] * 3})


def _part(**change) -> pd.DataFrame:
    row = {"paper": "pdanet", "table": "I", "row": "PDA-Net", "metric": "psnr", "claimed": 25.54,
           "measured": 20.81, "n": 6, "scale": "embedded", "why": "scale"}
    row.update(change)
    return pd.DataFrame([row])


def test_every_claim_appears_once_paired_or_not():
    table = pair_with_claims(_part(), _claims())
    assert len(table) == 3
    psnr = table.set_index("metric").loc["psnr"]
    assert psnr["difference"] == pytest.approx(20.81 - 25.54)
    assert table.set_index("metric")["measured"].isna().sum() == 2


def test_a_part_cannot_restate_a_claim_differently_or_invent_one():
    with pytest.raises(ValueError, match="differs from claims.csv"):
        pair_with_claims(_part(claimed=25.0), _claims())
    with pytest.raises(ValueError, match="no claim in claims.csv"):
        pair_with_claims(_part(row="PDA-Net v2"), _claims())


def test_parts_are_read_and_duplicates_refused(tmp_path):
    p1, p2 = tmp_path / "a.csv", tmp_path / "b.csv"
    _part().to_csv(p1, index=False)
    _part().to_csv(p2, index=False)
    assert read_parts([p1])["paper"].tolist() == ["pdanet"]
    _part(paper="003").to_csv(p2, index=False)
    with pytest.raises(ValueError, match="unknown papers"):
        read_parts([p2])
    _part().to_csv(p2, index=False)
    with pytest.raises(ValueError, match="paired twice"):
        read_parts([p1, p2])


def test_report_is_written_with_the_real_claims(tmp_path):
    part = tmp_path / "p.csv"
    _part().to_csv(part, index=False)
    table = write_report([part], tmp_path / "r.md", tmp_path / "r.csv", context="ctx")
    assert len(table) == len(load_claims())
    md = (tmp_path / "r.md").read_text()
    assert "## PDA-Net paper, Table I" in md and "not measured" in md and "ctx" in md


def test_report_with_the_trainings_hardware(tmp_path, caplog):
    """What rule reproduction_report runs (its table spec): the devices of the trainings'
    summary.json after the context, one log line."""
    import json
    import logging

    part = tmp_path / "p.csv"
    _part().to_csv(part, index=False)
    summaries = []
    for i, dev in enumerate(["cuda", "cuda", "cpu"]):
        summaries.append(tmp_path / f"s{i}.json")
        summaries[-1].write_text(json.dumps({"device": dev}))
    with caplog.at_level(logging.INFO, logger="simart"):
        table = write_report_with_hardware([part], summaries, tmp_path / "r.md",
                                           tmp_path / "r.csv", context="ctx")
    md = (tmp_path / "r.md").read_text()
    assert "ctx Hardware of the trainings (from their summary.json): cuda (2 models), " \
           "cpu (1 models)." in md
    assert f"{len(table)} claims, 1 paired" in caplog.text
    write_report_with_hardware([part], [], tmp_path / "r.md", tmp_path / "r.csv")
    assert "summary.json): none." in (tmp_path / "r.md").read_text()
