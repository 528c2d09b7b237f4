"""Write the CI's real-data config: the real instrument files of ../shared/fixtures/real-formats
(DM3, TIA .ser, TIFFs from DigitalMicrograph and Olympus SIS; the DM4 is 2 x 2 px, too small) and a few simulated
"experimental" TEM images written here as TIFFs with a known operator (so that the classical
baselines and the physics-guided samplers have rows too).

Usage: python .ci/make_real_config.py OUT_DIR CONFIG_YAML   (run in the repository root)
"""
import sys
from pathlib import Path

import numpy as np
import yaml

from simart.realdata import write_tiff
from simart.simulate.simart_dataset import degrade
from simart.simulate.sources import skimage_image

FIXTURES = Path("../shared/fixtures/real-formats")
# one TEM condition (values inside the simart TEM parameter ranges)
TEM = {"amplitude_contrast": 0.1, "convergence_mrad": 0.1, "cs_mm": 1.2, "defocus_nm": -80.0,
       "focal_spread_nm": 3.0, "voltage_kv": 200.0, "pixel_size_nm": 0.15,
       "gaussian_sigma": 0.04, "poisson_counts": 50000.0}


def main(out_dir: str, config: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean = np.stack([skimage_image(n, 64) for n in ("camera", "coins")])
    rows = [{**TEM, "noise_seed": 11 + i} for i in range(len(clean))]
    for i, y in enumerate(degrade(clean, "TEM", rows)):
        write_tiff(out / f"simulated_tem_{i}.tif", y * 1000.0 + 200.0, TEM["pixel_size_nm"])
    if not FIXTURES.is_dir():
        sys.exit(f"{FIXTURES} is absent: the CI real-data stage needs ../shared beside the "
                 "checkout")
    # every model that applies on the real TEM fixtures (each restored, or missing with the
    # reason); the simulated set with its operator for the rows that need one; the STEM
    # fixture with two rows (a few jobs: CI's time)
    sets = {
        "fixtures_tem": {"dataset": "simart", "subset": "TEM",
                         "paths": [str(FIXTURES / "128x128-TEM_search_1.ser"),
                                   str(FIXTURES / "olympus_SIS.tif")]},
        "fixtures_stem": {"dataset": "simart", "subset": "STEM",
                          "paths": [str(FIXTURES / "test_STEM_image.dm3")],
                          "models": ["noisy", "unet"]},
        "simulated_tem": {"dataset": "simart", "subset": "TEM",
                          "paths": [str(out / "simulated_tem_*.tif")], "operator": TEM,
                          "models": ["noisy", "wiener", "unet", "pcsd"]},
    }
    Path(config).write_text(yaml.safe_dump({"real_data": {"sets": sets}}, sort_keys=False))


if __name__ == "__main__":
    main(*sys.argv[1:3])
