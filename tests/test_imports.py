"""The engine and the op library are written against the array-API standard only: none of their modules
imports numpy, cupy or torch (the backends and verification helpers such as xgrad.gradcheck aside)."""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

import xgrad

PACKAGE = pathlib.Path(xgrad.__file__).parent
FORBIDDEN = {"numpy", "cupy", "cupyx", "torch"}
# the engine: graph, autograd, tensors, creation, custom functions, errors, state, public API
ENGINE = ["__init__.py", "_state.py", "autograd.py", "creation.py", "errors.py", "function.py", "observe.py",
          "tensor.py"]


def _engine_files():
    files = [PACKAGE / name for name in ENGINE]
    files += sorted((PACKAGE / "ops").glob("*.py"))  # the whole op library
    files.append(PACKAGE / "nn" / "functional.py")  # the op library's nn names
    return files


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):  # nested (lazy) imports count too
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            yield node.lineno, str(node.args[0].value).split(".")[0]


@pytest.mark.parametrize("path", _engine_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_engine_module_imports_no_array_library(path):
    assert path.exists(), f"{path} is part of the engine but missing"
    bad = [f"line {line}: {mod}" for line, mod in _imported_modules(path) if mod in FORBIDDEN]
    assert bad == [], f"{path.relative_to(PACKAGE)} imports an array library directly: {bad}"


def test_scanner_catches_imports(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import os\ndef f():\n    import numpy as np\nfrom torch import nn\n")
    assert sorted(m for _, m in _imported_modules(p) if m in FORBIDDEN) == ["numpy", "torch"]


def test_importing_xgrad_loads_neither_torch_nor_cupy():
    code = ("import sys, xgrad\nxgrad.use_backend('numpy')\nx = xgrad.tensor([1.0, 2.0], requires_grad=True)\n"
            "xgrad.sum(xgrad.tanh(x)).backward()\nprint(sorted(m for m in ('torch', 'cupy') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k != "XGRAD_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
