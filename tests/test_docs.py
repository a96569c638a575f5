"""The docs point at things that exist: every repository path and markdown link in the README files,
docs/ and the docstrings and comments of xgrad/ and bench/ names a file or folder of the checkout."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ["README.md", "bench/README.md", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))]
SOURCES = sorted(str(p.relative_to(ROOT)) for d in ("xgrad", "bench") for p in (ROOT / d).rglob("*.py"))

_PATH = re.compile(r"(?<![\w/.$-])((?:xgrad|bench|tests|docs|\.ci)/[\w./-]*\w)")  # xgrad/cli.py, bench/results/cpu
_DOC = re.compile(r"(?<![\w/.-])([A-Z][A-Za-z_]*\.md)\b")  # DESIGN.md, ARCHITECTURE.md
_LINK = re.compile(r"\]\(([^)#\s]+)")  # [text](target)


def references(text):
    """(kind, reference) pairs mentioned in ``text``."""
    for m in _PATH.finditer(text):
        yield "path", m.group(1).rstrip(".")
    for m in _DOC.finditer(text):
        yield "doc", m.group(1)
    for m in _LINK.finditer(text):
        if not re.match(r"[a-z]+:", m.group(1)):  # not http:, https:, mailto:
            yield "link", m.group(1)


def dead(rel):
    """The references in file ``rel`` that name nothing in the checkout."""
    here = (ROOT / rel).parent
    out = []
    for kind, ref in references((ROOT / rel).read_text()):
        if kind == "link" and not rel.endswith(".md"):  # in code, "](" is indexing and calls
            continue
        if kind == "path":
            parts = ref.split("/")
            if any(p.isupper() for p in parts):  # a placeholder such as bench/results/NAME
                continue
            ok = (ROOT / ref).exists() or (ROOT / (ref + ".py")).exists()  # xgrad/__init__ names a module
        elif kind == "doc":
            ok = any((d / ref).exists() for d in (here, ROOT, ROOT / "docs"))
        else:
            ok = (here / ref).exists()
        if not ok:
            out.append(ref)
    return out


@pytest.mark.parametrize("rel", DOCS + SOURCES)
def test_no_dead_repository_paths(rel):
    assert dead(rel) == []


def test_the_checker_finds_dead_references(tmp_path):
    text = "see DESIGN.md, docs/benchmarks.md and [the guide](docs/missing.md); xgrad/cli.py exists"
    refs = list(references(text))
    assert ("doc", "DESIGN.md") in refs and ("path", "docs/benchmarks.md") in refs
    assert ("link", "docs/missing.md") in refs and ("path", "xgrad/cli.py") in refs


def test_license_is_the_one_pyproject_names():
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
