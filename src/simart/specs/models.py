"""Every restoration method of the benchmark, one entry each: its implementation (by dotted
path, imported only when it runs), family, display name, what it needs, and the datasets it
runs on.

The config's model names, the rules' training and evaluation rows, the classical and
learned registries (:mod:`simart.restore.classical`, :mod:`simart.models.registry`) and the
figures' labels and families all read :data:`MODELS`. A model's hyper-parameters (its
family's pydantic class, the embedded and paper presets with their sources) are in
:mod:`simart.specs.hparams` and its two siblings; the training settings a source gives
that do not depend on scale (the GANs' optimiser) are in :attr:`ModelSpec.train`; those
that do (steps, batch, schedule) in the two complete presets.

Adding a model: its class (a :class:`simart.models.base.RestorationModel` with ``name``),
one :class:`ModelSpec` here, its presets in :mod:`simart.specs.hparams`
(``docs/extending.md``); :func:`register_model` and
:func:`simart.specs.hparams.register_hparams` add one at run time (tests, plug-ins).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

Family = Literal["input", "classical", "cnn", "diffusion", "gan"]
#: datasets of the benchmark (simart.data.datasets describes their subsets)
DATASETS: tuple[str, ...] = ("simart", "stem_lattice", "stm_cu111", "lm")


@dataclass(frozen=True)
class ModelSpec:
    """One method.

    ``impl``: dotted path of the restore function (input, classical) or of the
    :class:`~simart.models.base.RestorationModel` class (learned). ``datasets``: the datasets
    it runs on (``None``: every one; the config's ``evaluate.model_datasets`` overrides).
    ``needs``: the training batch's fields besides the degraded input ``y`` (``x`` clean
    target, ``y2`` a second noisy draw, ``params`` the operator's parameters, ``u`` / ``xu``
    unpaired degraded / clean images); ``predict_needs``: what prediction needs besides ``y``
    (``params``, ``gen`` a seeded generator). ``joint``: one model for every subset of a
    dataset, conditioned on the subset (else one per subset where the config asks).
    ``hparams`` (learned): the pydantic class of its hyper-parameters, a class name of
    :mod:`simart.specs.hparams` (or its siblings) or a dotted path. ``train``: the
    training settings its sources fix whatever the scale (the optimiser: (key, value)
    pairs of :class:`simart.specs.training.ModelTrainSettings`), applied over the config's
    ``train.defaults`` and under its ``train.models.<name>``.
    """

    name: str
    family: Family
    impl: str
    label: str
    datasets: tuple[str, ...] | None = None
    needs: tuple[str, ...] = ("x",)
    predict_needs: tuple[str, ...] = ()
    joint: bool = False
    hparams: str = ""
    train: tuple[tuple[str, Any], ...] = ()

    @property
    def learned(self) -> bool:
        return self.family not in ("input", "classical")

    @property
    def unpaired(self) -> tuple[str, ...]:
        """The unpaired fields (``u``, ``xu``) it trains with."""
        return tuple(f for f in self.needs if f in ("u", "xu"))

    def load(self) -> Any:
        """The implementation (imports its module: torch for the learned models)."""
        module, _, attr = self.impl.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def _classical(name: str, fn: str, label: str, datasets: tuple[str, ...] | None = ("simart",),
               family: Family = "classical") -> ModelSpec:
    return ModelSpec(name, family, f"simart.restore.classical.{fn}", label, datasets,
                     needs=())


def _cnn(name: str, cls: str, label: str, **kw: Any) -> ModelSpec:
    return ModelSpec(name, "cnn", f"simart.models.{cls}", label, **kw)


_PCSD = {"datasets": ("simart",), "needs": ("x", "params"), "predict_needs": ("params", "gen"),
             "joint": True}
_PIDDPM = {"datasets": ("lm",), "needs": ("x", "params"), "predict_needs": ("params", "gen")}
#: The GANs' optimiser: Adam, lr 2e-4, betas (0.5, 0.999), no weight decay (Zhu et al. 2017
#: §4; Isola et al. 2017 §3.3; the PDA-Net paper §IV-C "learning rate of 0.0002 ...
#: momentum parameter 0.5"; none of them uses weight decay), at every scale.
_GAN_ADAM: tuple[tuple[str, Any], ...] = (
    ("optimizer", "adam"), ("lr", 2.0e-4), ("betas", (0.5, 0.999)), ("weight_decay", 0.0))
_PDANET = {"datasets": ("stm_cu111",), "needs": ("xu", "u"), "train": _GAN_ADAM}
# Where they run: the operator-aware classical baselines need SIMART's parameter tables;
# PCSD its modality operators (physics loss and guidance); PI-DDPM the fluorescence PSF;
# PDA-Net the STM domains (simulated blurry, experimental-like, unpaired clean); the
# conditional DDPM is the condddpm paper's fluorescence model; the GAN baselines where their
# sources use them: CycleGAN in the pcsd paper's Table 2 and the pdanet paper (trained on
# simulation, applied to the experimental-like domain), pix2pix in the condddpm paper's
# fluorescence comparison, both also on the SIMART modalities. The noisy input and the CNNs
# run everywhere.
_ENTRIES: tuple[ModelSpec, ...] = (
    _classical("noisy", "restore_noisy", "Noisy input", None, family="input"),
    _classical("wiener", "restore_wiener", "Wiener"),
    _classical("richardson_lucy", "restore_richardson_lucy", "Richardson–Lucy"),
    _classical("bm3d", "restore_bm3d", "BM3D"),
    _classical("tip_erosion", "restore_tip_erosion", "Tip erosion"),
    _cnn("unet", "unet.UNet", "U-Net", hparams="UNetHParams"),
    _cnn("care", "unet.CARE", "CARE", hparams="UNetHParams"),
    _cnn("dncnn", "dncnn.DnCNN", "DnCNN", hparams="DnCNNHParams"),
    _cnn("n2n", "unet.N2N", "Noise2Noise", needs=("y2",), hparams="UNetHParams"),
    _cnn("n2v", "n2v.N2V", "Noise2Void", needs=(), hparams="N2VHParams"),
    _cnn("pinned", "pinned.PINNED", "PINNED", hparams="PINNEDHParams"),
    _cnn("unet_rcan", "rcan.UNetRCAN", "U-Net-RCAN", hparams="UNetRCANHParams"),
    ModelSpec("pcsd", "diffusion", "simart.models.pcsd.PCSD", "PCSD", **_PCSD,
              hparams="PCSDHParams"),
    # the pcsd paper's Table 3 ablations (row names)
    ModelSpec("pcsd_no_physics", "diffusion", "simart.models.pcsd.PCSDNoPhysics",
              "w/o physics constraints", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_no_modality", "diffusion", "simart.models.pcsd.PCSDNoModality",
              "w/o modality cond.", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_no_cycle", "diffusion", "simart.models.pcsd.PCSDNoCycle",
              "w/o cycle consistency", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_no_perceptual", "diffusion", "simart.models.pcsd.PCSDNoPerceptual",
              "w/o perceptual loss", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_no_tv", "diffusion", "simart.models.pcsd.PCSDNoTV",
              "w/o TV regularisation", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_diffusion_only", "diffusion", "simart.models.pcsd.PCSDDiffusionOnly",
              "Diffusion only", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pcsd_physics_only", "diffusion", "simart.models.pcsd.PCSDPhysicsOnly",
              "Physics only (no diffusion)", **_PCSD, hparams="PCSDHParams"),
    ModelSpec("pi_ddpm", "diffusion", "simart.models.pi_ddpm.PIDDPM", "PI-DDPM", **_PIDDPM,
              hparams="PIDDPMHParams"),
    ModelSpec("pi_ddpm_l2", "diffusion", "simart.models.pi_ddpm.PIDDPML2", "pi_ddpm_l2",
              **_PIDDPM, hparams="PIDDPMHParams"),
    ModelSpec("pi_ddpm_plain", "diffusion", "simart.models.pi_ddpm.PIDDPMPlain",
              "DDPM (no physics)", **_PIDDPM, hparams="PIDDPMHParams"),
    ModelSpec("cond_ddpm", "diffusion", "simart.models.cond_ddpm.CondDDPM", "Cond. DDPM",
              datasets=("lm",), predict_needs=("gen",), hparams="CondDDPMHParams"),
    ModelSpec("cyclegan", "gan", "simart.models.cyclegan.CycleGAN", "CycleGAN",
              datasets=("simart", "stm_cu111"), needs=("xu",), hparams="CycleGANHParams",
              train=_GAN_ADAM),
    ModelSpec("pix2pix", "gan", "simart.models.pix2pix.Pix2Pix", "pix2pix",
              datasets=("simart", "lm"), hparams="Pix2PixHParams", train=_GAN_ADAM),
    ModelSpec("pdanet_da", "gan", "simart.models.pdanet.PDANetDA", "PDA-Net (DA)", **_PDANET,
              hparams="PDANetDAHParams"),
    ModelSpec("pdanet_da_ws", "gan", "simart.models.pdanet.PDANetDAWS", "PDA-Net (DA+WS)",
              **_PDANET, hparams="PDANetDAHParams"),
    ModelSpec("pdanet", "gan", "simart.models.pdanet.PDANet", "PDA-Net", **_PDANET,
              hparams="PDANetHParams"),
)

#: name -> spec, in the order of the tables and figures (input, classical, then learned)
MODELS: dict[str, ModelSpec] = {m.name: m for m in _ENTRIES}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a method at run time (before the config is validated: the config's model names
    are read when :mod:`simart.config` is imported, so a plug-in registers first)."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is already registered ({MODELS[spec.name].impl})")
    if spec.datasets is not None and set(spec.datasets) - set(DATASETS):
        raise ValueError(f"model {spec.name!r}: unknown dataset(s) "
                         f"{sorted(set(spec.datasets) - set(DATASETS))}; allowed: {DATASETS}")
    MODELS[spec.name] = spec
    return spec


def names(*families: Family) -> tuple[str, ...]:
    """Registered names of these families (all without arguments), in registry order."""
    return tuple(n for n, m in MODELS.items() if not families or m.family in families)


def spec_of(name: str) -> ModelSpec | None:
    """The spec of a model, or of the trained model of an evaluation row named after it
    (``<model>_<variant>``, ``<model>_from_<modality>``: the longest registered prefix)."""
    if name in MODELS:
        return MODELS[name]
    for key in sorted(MODELS, key=len, reverse=True):
        if name.startswith(key + "_"):
            return MODELS[key]
    return None


def model_applies(model: str, dataset: str, overrides: dict | None = None) -> bool:
    """Whether ``model`` runs on ``dataset``: ``overrides`` (config
    ``evaluate.model_datasets``), else its spec's ``datasets`` (unknown: everywhere)."""
    if overrides and model in overrides:
        return dataset in overrides[model]
    spec = spec_of(model)
    return spec is None or spec.datasets is None or dataset in spec.datasets


def unpaired_fields(model: str) -> tuple[str, ...]:
    """The unpaired fields (``u``, ``xu``) ``model`` trains with."""
    spec = spec_of(model)
    return spec.unpaired if spec else ()


def is_joint(model: str) -> bool:
    """Whether ``model`` is conditioned on the subset (one model for all subsets)."""
    spec = spec_of(model)
    return bool(spec and spec.joint)


def family(name: str) -> str:
    """The family of an evaluation row: its model's (``cnn`` for an unknown name)."""
    spec = spec_of(name)
    return spec.family if spec else "cnn"
