"""One table from weighting names to classes."""

from __future__ import annotations

from .._registry import make_component
from ._adaptive import DWAWeighting, GradNormWeighting, UncertaintyWeighting
from ._base import Weighting
from ._conditioned import WeightConditioning
from ._gradient import MGDAWeighting, PCGradWeighting
from ._jacobian import JacobianWeighting
from ._static import StaticWeighting

__all__ = ["WEIGHTINGS", "make_weighting"]

#: Names accepted by ``weighting=``.
WEIGHTINGS: dict[str, type[Weighting]] = {
    "conditioned": WeightConditioning,
    "dwa": DWAWeighting,
    "gradnorm": GradNormWeighting,
    "mgda": MGDAWeighting,
    "pcgrad": PCGradWeighting,
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    # torchjd's UPGrad (the torchjd extra); other torchjd aggregators through
    # JacobianWeighting(aggregator=...).
    "upgrad": JacobianWeighting,
}


def make_weighting(spec: str | Weighting) -> Weighting:
    """A fresh weighting object from a name in :data:`WEIGHTINGS` or a (cloned) object.

    Examples
    --------
    >>> from sk_mtl.weighting import DWAWeighting, make_weighting
    >>> make_weighting("static")
    StaticWeighting()
    >>> given = DWAWeighting(temperature=5.0)
    >>> copy = make_weighting(given)
    >>> copy, copy is given
    (DWAWeighting(temperature=5.0), False)
    """
    return make_component(spec, WEIGHTINGS, param="weighting", base=Weighting,
                          others=["a sk_mtl.weighting.Weighting object"])
