"""The forward operators: one entry per imaging modality (torch-free).

An operator is the noiseless forward model ``P(x; theta)`` of one modality: a class
(:class:`simart.physics.operators.Operator`) named here by its dotted path and imported
only when an image is simulated, guided or restored. Its parameter table (distribution,
bounds, unit) is that of its dataset: :mod:`simart.specs.modalities` for SIMART,
:mod:`simart.specs.lm` for the fluorescence modes.

**An image's operator travels as an index** (``operator_code``: the entry's position in
:data:`OPERATORS`) in the per-image parameters that training and prediction read, so no
code guesses a modality from the parameter names it carries. The SIMART modalities come
first, in :data:`simart.specs.modalities.MODALITIES` order: their codes are the shards'
modality ids.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Datasets whose images come from a differentiable forward operator (the others --
#: stem_lattice's composite noise, stm_cu111's blur with random step edges -- have none).
OPERATOR_DATASETS: tuple[str, ...] = ("simart", "lm")


@dataclass(frozen=True)
class OperatorSpec:
    """One modality's forward operator.

    Attributes:
        name: the modality (a SIMART subset such as ``"TEM"``, or an ``lm`` mode).
        dataset: the dataset whose subset it is (one of :data:`OPERATOR_DATASETS`).
        impl: dotted path of its :class:`simart.physics.operators.Operator` subclass.
    """

    name: str
    dataset: str
    impl: str


_ENTRIES: tuple[OperatorSpec, ...] = (
    OperatorSpec("AFM", "simart", "simart.physics.afm.AFMOperator"),
    OperatorSpec("TEM", "simart", "simart.physics.tem.TEMOperator"),
    OperatorSpec("SEM", "simart", "simart.physics.sem.SEMOperator"),
    OperatorSpec("STEM", "simart", "simart.physics.stem.STEMOperator"),
    OperatorSpec("widefield", "lm", "simart.physics.lm.WidefieldOperator"),
    OperatorSpec("confocal", "lm", "simart.physics.lm.ConfocalOperator"),
)

#: name -> spec, in code order (append only: a code is an entry's position).
OPERATORS: dict[str, OperatorSpec] = {s.name: s for s in _ENTRIES}


def register_operator(spec: OperatorSpec) -> OperatorSpec:
    """Add an operator at run time (a plug-in: before the config is validated); its code is
    the next free index. A SIMART modality also needs its parameter table
    (:func:`simart.specs.modalities.register_modality_params`)."""
    if spec.dataset not in OPERATOR_DATASETS:
        raise ValueError(f"operator {spec.name!r}: dataset {spec.dataset!r}; allowed: "
                         f"{list(OPERATOR_DATASETS)}")
    if spec.name in OPERATORS and OPERATORS[spec.name] != spec:
        raise ValueError(f"operator {spec.name!r} is already registered")
    OPERATORS[spec.name] = spec
    return spec


def operator_names(dataset: str | None = None) -> tuple[str, ...]:
    """The registered operators' names (of ``dataset`` only, when given), in code order."""
    return tuple(n for n, s in OPERATORS.items() if dataset is None or s.dataset == dataset)


def operator_code(name: str) -> int:
    """The index an image of modality ``name`` carries as its ``operator_code``."""
    try:
        return list(OPERATORS).index(name)
    except ValueError:
        raise ValueError(f"unknown modality {name!r}; allowed: {list(OPERATORS)}") from None


def operator_at(code: int) -> OperatorSpec:
    """The spec whose ``operator_code`` is ``code``."""
    names = list(OPERATORS)
    if not 0 <= int(code) < len(names):
        raise ValueError(f"operator_code {code!r} is not one of 0..{len(names) - 1} "
                         f"({names})")
    return OPERATORS[names[int(code)]]


def subset_position(name: str) -> int:
    """Position of modality ``name`` among its dataset's operators (the index a model's
    subset embedding uses: SIMART 0..3, lm 0..1)."""
    spec = OPERATORS.get(name)
    if spec is None:
        raise ValueError(f"unknown modality {name!r}; allowed: {list(OPERATORS)}")
    return operator_names(spec.dataset).index(name)
