"""Graph pictures (DOT text, rendering or a message how to install Graphviz) and memory_report."""

import shutil

import numpy as np
import pytest

import xgrad
from xgrad import nn


def test_to_dot_shows_ops_shapes_dtypes_and_which_tensors_require_grad():
    lin = nn.Linear(3, 2, dtype="float64")
    x = xgrad.ones((4, 3), dtype="float64")
    loss = xgrad.tanh(lin(x)).sum()
    dot = xgrad.viz.to_dot(loss, params=dict(lin.named_parameters()))
    assert dot.startswith("digraph xgrad {") and dot.endswith("}")
    assert '"sum\\nscalar float64"' in dot and '"tanh\\n4x2 float64"' in dot and '"linear\\n4x2 float64"' in dot
    assert '"weight\\n2x3 float64\\nrequires_grad", style="filled"' in dot
    assert '"leaf\\n4x3 float64\\nconstant", style="dashed"' in dot
    assert dot.count(" -> ") == 5  # x, weight, bias -> linear -> tanh -> sum


def test_render_writes_a_picture_or_says_how_to_install_graphviz(tmp_path):
    x = xgrad.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    target = tmp_path / "g.svg"
    if shutil.which("dot") is None:
        with pytest.raises((ImportError, RuntimeError), match="install"):
            xgrad.viz.render((x * x).sum(), str(target))
    else:
        path = xgrad.viz.render((x * x).sum(), str(target))
        assert path.endswith("g.svg") and "<svg" in open(path).read()
    with pytest.raises(ValueError, match=".svg, .png or .pdf"):
        xgrad.viz.render(x, str(tmp_path / "g.txt"))


def test_memory_report_counts_bytes_and_finds_a_graph_kept_alive():
    w = xgrad.tensor(np.ones((100, 100)), dtype="float64", requires_grad=True)
    key = (w.backend, str(w.device))
    before = xgrad.memory_report().by_device[key]
    kept = []
    for _ in range(3):  # the classic leak: losses appended with their graphs
        h = xgrad.tanh(w @ w)
        kept.append((h * h).sum())
    report = xgrad.memory_report()
    now = report.by_device[key]
    assert now["bytes"] - before["bytes"] >= 80_000 * 6  # 3 x (w@w, tanh, h*h) of 80 kB each
    largest = report.largest_graph
    assert largest is not None and any(largest.root is k for k in kept)
    assert largest.nodes == 4 and largest.bytes >= 4 * 80_000
    assert "4 nodes" in str(report) and "held by a sum output" in str(report)
    for loss in kept:
        loss.backward()  # frees each graph
    assert not any(g.root is k for g in xgrad.memory_report().graphs for k in kept)


def test_memory_report_names_the_line_under_detect_anomaly():
    w = xgrad.tensor([1.0], dtype="float64", requires_grad=True)
    with xgrad.detect_anomaly():
        kept = (w * 2.0).sum()  # the leak
    graphs = [g for g in xgrad.memory_report().graphs if g.root is kept]
    assert graphs and "kept = (w * 2.0).sum()  # the leak" in graphs[0].site
