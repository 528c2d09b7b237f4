"""Rule real_restore: restore one real image with one row, score it without ground truth."""
import simart.jobstart  # noqa: F401, I001  (first: libraries load without garbage collection)
import sys

import torch

from simart import runlog
from simart.realdata import restore_file


def main(smk) -> int:
    runlog.setup(smk.log[0])
    torch.set_num_threads(max(1, smk.threads))  # simart restore --threads: the same pixels
    s, wc = smk.params.settings, smk.wildcards
    restore_file(smk.input.image, wc.model, smk.output.tif, dataset=s["dataset"],
                 subset=s["subset"], weights=smk.input.get("weights"), operator=s["operator"],
                 pixel_size_nm=s["pixel_size_nm"], crop=s["crop"],
                 model_kwargs=s["model_kwargs"], seed=s["seed"], set_name=wc.realset,
                 out_table=smk.output.table)
    return 0


if __name__ == "__main__":
    sys.exit(main(snakemake))  # noqa: F821
