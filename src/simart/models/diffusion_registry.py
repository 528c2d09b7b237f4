"""The diffusion model classes registered in :data:`simart.models.MODEL_REGISTRY`
(each a :class:`simart.models.base.RestorationModel` with a unique ``name``):

* ``pcsd`` and its Table-3 ablations ``pcsd_no_physics``, ``pcsd_no_modality``,
  ``pcsd_no_cycle``, ``pcsd_no_perceptual``, ``pcsd_no_tv``, ``pcsd_diffusion_only``,
  ``pcsd_physics_only`` (:mod:`simart.models.pcsd`, seed 000);
* ``pi_ddpm``, its L2-regulariser ablation ``pi_ddpm_l2`` and ``pi_ddpm_plain`` (:mod:`simart.models.pi_ddpm`, seed 002);
* ``cond_ddpm`` (:mod:`simart.models.cond_ddpm`, seed 004).
"""

from __future__ import annotations

from simart.models.cond_ddpm import CondDDPM
from simart.models.pcsd import ABLATIONS, PCSD
from simart.models.pi_ddpm import PIDDPM, PIDDPML2, PIDDPMPlain

MODELS: tuple = (PCSD, *ABLATIONS, PIDDPM, PIDDPML2, PIDDPMPlain, CondDDPM)
