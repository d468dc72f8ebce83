"""One table from weighting names to classes."""

from __future__ import annotations

from sklearn.base import clone

from ._adaptive import DWAWeighting, GradNormWeighting, UncertaintyWeighting
from ._base import Weighting
from ._conditioned import WeightConditioning
from ._gradient import MGDAWeighting, PCGradWeighting
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
}


def make_weighting(spec: str | Weighting) -> Weighting:
    """A fresh weighting object from a name in :data:`WEIGHTINGS` or a (cloned) object.

    Examples
    --------
    >>> from sk_mtl.weighting import make_weighting
    >>> make_weighting("static")
    StaticWeighting()
    """
    if isinstance(spec, str):
        try:
            return WEIGHTINGS[spec]()
        except KeyError:
            raise ValueError(
                f"weighting={spec!r} is not known; use one of {sorted(WEIGHTINGS)} or a "
                "sk_mtl.weighting.Weighting object."
            ) from None
    if isinstance(spec, Weighting):
        return clone(spec)
    raise TypeError(
        f"weighting must be a name in {sorted(WEIGHTINGS)} or a Weighting object, "
        f"got {type(spec).__name__}."
    )
