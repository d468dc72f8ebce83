"""The one factory behind ``make_task``, ``make_weighting``, ``make_trunk``, ``make_fusion``,
``make_encoder`` and ``make_activation``."""

import pytest
from sklearn.base import BaseEstimator
from torch import nn

from sk_mtl._registry import make_component, unknown_name
from sk_mtl.encoders import ENCODERS, Encoder, TorchModule, make_encoder
from sk_mtl.fusion import FUSIONS, Fusion, make_fusion
from sk_mtl.modules import ACTIVATIONS, make_activation
from sk_mtl.tasks import TASK_KINDS, Task, make_task
from sk_mtl.trunks import TRUNKS, TrunkSpec, make_trunk
from sk_mtl.weighting import WEIGHTINGS, Weighting, make_weighting


class _Part(BaseEstimator):
    def __init__(self, size=1):
        self.size = size


_TABLE = {"small": _Part, "big": lambda: _Part(size=10)}


def test_a_name_builds_a_fresh_object_each_time():
    first = make_component("big", _TABLE, param="part", base=_Part)
    assert first.size == 10
    assert make_component("big", _TABLE, param="part", base=_Part) is not first


def test_an_object_of_the_base_is_cloned():
    given = _Part(size=3)
    given.fitted_ = True
    made = make_component(given, _TABLE, param="part", base=_Part)
    assert made is not given and made.size == 3
    assert not hasattr(made, "fitted_")


def test_convert_takes_what_is_neither_a_name_nor_a_base():
    def wrap(spec):
        return _Part(size=spec) if isinstance(spec, int) else None

    assert make_component(7, _TABLE, param="part", base=_Part, convert=wrap).size == 7
    with pytest.raises(TypeError, match="part must be a name in"):
        make_component(1.5, _TABLE, param="part", base=_Part, convert=wrap)


def test_messages_name_the_parameter_the_value_and_the_known_names():
    with pytest.raises(ValueError) as info:
        make_component("huge", _TABLE, param="parts['a']", others=["a _Part"])
    assert str(info.value) == (
        "parts['a']='huge' is not known; use one of ['big', 'small'] or a _Part."
    )
    with pytest.raises(TypeError) as info:
        make_component(3, _TABLE, param="part", others=["a _Part", "a callable"],
                       noun="size name")
    assert str(info.value) == (
        "part must be a size name in ['big', 'small'], a _Part or a callable, got int."
    )
    assert str(unknown_name("part", "x", _TABLE)) == (
        "part='x' is not known; use one of ['big', 'small']."
    )


@pytest.mark.parametrize(
    ("make", "table", "base"),
    [
        (lambda spec: make_task(spec, "t"), TASK_KINDS, Task),
        (make_weighting, WEIGHTINGS, Weighting),
        (make_trunk, TRUNKS, TrunkSpec),
        (make_fusion, FUSIONS, Fusion),
        (make_encoder, ENCODERS, Encoder),
    ],
)
def test_every_table_name_builds_its_class_and_objects_are_cloned(make, table, base):
    for name, cls in table.items():
        made = make(name)
        assert type(made) is cls
        copy = make(made)
        assert copy is not made and type(copy) is cls and isinstance(copy, base)
    with pytest.raises(ValueError, match="is not known; use one of"):
        make("no such name")
    with pytest.raises(TypeError, match=r"must be a (kind )?name in \["):
        make(3)


def test_make_encoder_wraps_a_module_and_names_the_modality():
    module = nn.Linear(2, 3)
    assert isinstance(make_encoder(module, "img"), TorchModule)
    with pytest.raises(ValueError, match=r"encoders\['img'\]='x' is not known"):
        make_encoder("x", "img")
    with pytest.raises(TypeError, match=r"^encoder must be a name in"):
        make_encoder(3)


def test_make_activation_takes_names_and_module_classes_not_instances():
    assert all(type(make_activation(n)) is cls for n, cls in ACTIVATIONS.items())
    assert type(make_activation(nn.Softplus)) is nn.Softplus
    with pytest.raises(TypeError, match=r"an nn\.Module class, got ReLU\(\)\.$"):
        make_activation(nn.ReLU())
