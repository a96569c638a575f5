"""Public modules show their API and nothing else: dir() and tab completion list no stray imports
(``math``, ``static``, typing names, the engine's internal modules), and nothing public is hidden."""

import importlib
import inspect
import types

import pytest

import xgrad

PUBLIC = ["xgrad.nn", "xgrad.nn.functional", "xgrad.nn.init", "xgrad.optim", "xgrad.data", "xgrad.checkpoint",
          "xgrad.training", "xgrad.plotting", "xgrad.gradcheck", "xgrad.reference", "xgrad.utils", "xgrad.viz", "xgrad.nn.utils",
          "xgrad.distributed", "xgrad.nn.parallel"]


def _shown(module):
    return {n for n in dir(module) if not n.startswith("_")}


@pytest.mark.parametrize("name", PUBLIC)
def test_public_module_lists_exactly_its_api(name):
    m = importlib.import_module(name)
    assert _shown(m) == set(m.__all__), f"dir({name}) differs from its __all__"
    for n in m.__all__:
        assert hasattr(m, n), f"{name}.__all__ names {n!r}, which the module lacks"
    # every public class or function the module defines itself is part of its API
    own = {n for n, v in vars(m).items() if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
           and getattr(v, "__module__", None) == name}
    assert own <= set(m.__all__), f"{name} defines {sorted(own - set(m.__all__))} but leaves them out of __all__"


def test_optimizer_module_shows_no_imports():
    import xgrad.optim

    shown = _shown(xgrad.optim)
    assert {"SGD", "Adam", "AdamW", "clip_grad_norm_", "StepLR"} <= shown
    assert shown.isdisjoint({"math", "operator", "static", "XgradError", "InputError", "Tensor", "tensor", "Any",
                             "annotations", "update_", "to_host"})


def test_top_level_shows_the_api_and_public_subpackages_only():
    import xgrad.plotting  # noqa: F401  (imported submodules become attributes of the package)

    shown = _shown(xgrad)
    assert {"tensor", "Tensor", "grad", "no_grad", "compile", "nn", "optim", "data", "checkpoint", "training",
            "XgradError", "float32"} <= shown
    modules = {n for n in shown if isinstance(getattr(xgrad, n), types.ModuleType)}
    assert modules <= {"nn", "optim", "data", "checkpoint", "training", "plotting", "gradcheck", "reference",
                       "errors", "utils", "viz", "distributed"}
    assert shown.isdisjoint({"observe", "autograd", "creation", "ops", "backends", "inplace", "function",
                             "annotations"})
    assert xgrad.ops is not None  # hidden from dir(), still importable
