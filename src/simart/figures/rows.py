"""Which evaluation rows a PCSD-paper figure draws (no matplotlib: the rules import these
while Snakemake parses the workflow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simart.specs.hparams_diffusion import PCSD_ABLATIONS

#: baselines whose training curves Fig. 3 C/D shows beside PCSD (first ones evaluated)
CURVE_BASELINES = ("care", "unet", "n2n", "cyclegan", "n2v", "dncnn", "pix2pix", "unet_rcan")


def curve_baselines(models: Sequence[str], k: int = 4) -> list[str]:
    """The first ``k`` of :data:`CURVE_BASELINES` that are among ``models``."""
    return [m for m in CURVE_BASELINES if m in models][:k]


def pcsd_ablations(models: Sequence[str]) -> list[str]:
    """PCSD's Table 3 training ablations among ``models``, in the paper's row order."""
    return [m for m in PCSD_ABLATIONS if m in models]


def eta_sweep_rows(variants: Mapping[str, tuple[str, Mapping[str, object]]],
                   base_eta: float, model: str = "pcsd") -> dict[str, float]:
    """{evaluation row: guidance strength eta} of ``model`` itself (``base_eta``, its
    trained hyper-parameter) and of its variants that change nothing but ``eta``
    (``variants``: name -> (model, sampling options)), sorted by eta."""
    rows = {model: float(base_eta)}
    for name, (net, sampling) in variants.items():
        if net == model and set(sampling) == {"eta"}:
            rows[name] = float(sampling["eta"])
    return dict(sorted(rows.items(), key=lambda kv: (kv[1], kv[0])))
