"""The gan model classes registered in :data:`simart.models.MODEL_REGISTRY`
(each a :class:`simart.models.base.RestorationModel` with a unique ``name``).

``cyclegan``: CycleGAN (cyclegan.py); ``pix2pix``: Pix2Pix (pix2pix.py); ``pdanet_da``:
PDANetDA, ``pdanet_da_ws``: PDANetDAWS, ``pdanet``: PDANet (pdanet.py; seed 003's ablation
rows CycleGAN+DA, CycleGAN+DA+WS and the full model). Building blocks: gan.py.
"""

from __future__ import annotations

from simart.models.cyclegan import CycleGAN
from simart.models.pdanet import PDANet, PDANetDA, PDANetDAWS
from simart.models.pix2pix import Pix2Pix

MODELS: tuple = (CycleGAN, Pix2Pix, PDANetDA, PDANetDAWS, PDANet)
