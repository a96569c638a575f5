"""The pictures xgrad writes: one readable colour and one legend entry per class, labelled axes."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgb  # noqa: E402

from xgrad import data, nn, plotting  # noqa: E402


@pytest.mark.parametrize("n", [2, 3, 10, 11, 20, 21, 40])
def test_class_colours_are_distinct_and_never_near_white(n):
    colors = [to_rgb(c) for c in plotting.class_colors(n)]
    assert len(set(colors)) == n
    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in colors]
    assert max(luminance) < 0.85  # visible on the light regions and a white page (RdBu's middle class was white)


@pytest.mark.parametrize("n_classes", [3, 12])
def test_boundary_has_a_legend_entry_per_class_and_labelled_axes(n_classes, monkeypatch):
    plt = plotting._pyplot()
    X, y = data.spirals(240, n_classes=n_classes, seed=0, dtype="float64")
    Xh, yh = X.numpy(), y.numpy()
    gx, gy, pts = plotting.decision_grid(Xh, steps=20)
    fig, ax = plt.subplots()
    plotting._draw_boundary(ax, gx, gy, pts[:, 0] > 0, Xh, yh, "t", n_classes)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"class {k}" for k in range(n_classes)]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("feature 1", "feature 2")
    plt.close(fig)


def test_training_figure_is_written_with_three_classes(tmp_path):
    X, y = data.gaussian_blobs(90, seed=0, dtype="float64")
    m = nn.MLP([2, 8, int(y.numpy().max()) + 1], dtype="float64")
    path = plotting.plot_training(str(tmp_path / "t.png"), m, X, y, [1.0, 0.5, 0.25], [0.5, 0.7, 0.9])
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert np.asarray(plotting.class_colors(3)).shape == (3, 4)
