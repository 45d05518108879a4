"""Charts are rendered and looked at: not blank, in the groups' colours, labelled in time."""

from __future__ import annotations

import sys

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

import sim
from sim.analysis import charts
from sim.analysis import stats as st


@pytest.fixture(scope="module")
def result():
    return sim.run("classroom", steps=30, seed=3)


def load_rgb(path) -> np.ndarray:
    img = mpimg.imread(path)
    return img[..., :3] if img.ndim == 3 else np.stack([img] * 3, -1)


def non_white_share(img: np.ndarray) -> float:
    return float((img.min(-1) < 0.95).mean())


def n_colours(img: np.ndarray) -> int:
    q = (img * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(q, axis=0))


def pixels_of(img: np.ndarray, colour: str, tol: float = 0.03) -> int:
    return int((np.abs(img - np.array(to_rgb(colour))).max(-1) < tol).sum())


def test_dashboard_is_drawn_in_the_group_colours(result, tmp_path):
    path = charts.dashboard(result, tmp_path / "dashboard.png")
    assert path.is_file()
    img = load_rgb(path)
    assert img.shape[0] > 800 and img.shape[1] > 1200
    assert non_white_share(img) > 0.10
    assert n_colours(img) > 100
    for name, colour in result.summary["group_colours"].items():
        assert pixels_of(img, colour) > 200, f"colour of {name} missing from the dashboard"
    assert pixels_of(img, sim.core.scenario.STATE_COLOUR) > 200


def test_dashboard_leaves_no_pyplot_figures(result, tmp_path):
    charts.dashboard(result, tmp_path / "d.png")
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_time_is_in_weeks_or_years():
    assert charts.TimeAxis(30).label == "time (weeks)"
    assert charts.TimeAxis(520).label == "time (years)"
    assert charts.TimeAxis(520)(104).item() == pytest.approx(2.0)


def test_series_figures_label_time_and_units(result):
    fig = charts.series_figure(result, "fighters")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (weeks)"
    assert ax.get_ylabel() == "fighters"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == result.group_names
    colours = [l.get_color() for l in ax.get_lines()][: len(labels)]
    assert colours == [result.summary["group_colours"][n] for n in labels]
    with pytest.raises(ValueError, match="allowed"):
        charts.series_figure(result, "nonsense")


def test_control_map_cells_take_the_owner_colours(result, tmp_path):
    fig = charts.control_maps_figure(result, [0, 30])
    charts.save(fig, tmp_path / "maps", ("png",))
    img = load_rgb(tmp_path / "maps.png")
    for colour in result.summary["group_colours"].values():
        assert pixels_of(img, colour) > 100


def test_zone_outline_of_a_block():
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    segs = charts.zone_outline(mask)
    assert len(segs) == 8  # a 2x2 block has 8 unit edges on its boundary
    xs = [x for s in segs for x, _ in s]
    assert min(xs) == 0.5 and max(xs) == 2.5


def test_relation_spans():
    spans = charts.relation_spans(np.array([0, 0, 1, 1, 1, 2]), np.arange(6))
    assert spans == [(0, 0.0, 2.0), (1, 2.0, 5.0), (2, 5.0, 6.0)]


def test_defection_matrix_figure_shows_counts(result):
    fig = charts.defection_matrix_figure(result)
    texts = {t.get_text() for t in fig.axes[0].texts}
    mat = result.defection_matrix()
    a, b = mat.index[:2]
    assert f"{int(mat.loc[a, b]):,}" in texts


def test_survival_and_ccdf_figures_render(tmp_path):
    km = st.kaplan_meier([5, 10, 10, 20, 40], [False, False, True, False, True])
    fig = charts.survival_figure({"all": km})
    charts.save(fig, tmp_path / "km", ("png",))
    assert non_white_share(load_rgb(tmp_path / "km.png")) > 0.03
    x = st.sample_power_law(np.random.default_rng(1), 2.5, 1, 500, discrete=True)
    fit = st.fit_power_law(x)
    fig = charts.ccdf_figure({"sizes": x}, fit)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert any("alpha" in t.get_text() for t in ax.get_legend().get_texts())


def test_sweep_figures_render(tmp_path):
    rng = np.random.default_rng(0)
    runs = pd.DataFrame({"a": np.repeat([0.0, 0.5, 1.0], 8), "b": np.tile([1, 2], 12)})
    runs["y"] = 3 * runs["a"] + runs["b"] + rng.normal(0, 0.1, len(runs))
    figs = {"vs": charts.outcome_vs_parameters_figure(runs, "y", ["a", "b"], unit="cells"),
            "heat": charts.heatmap_figure(runs, "y", "a", "b")}
    for name, fig in figs.items():
        charts.save(fig, tmp_path / name, ("png",))
        img = load_rgb(tmp_path / f"{name}.png")
        assert non_white_share(img) > 0.05 and n_colours(img) > 30
    assert figs["vs"].axes[0].get_ylabel() == "y (cells)"


def test_animation_has_changing_frames(result, tmp_path):
    from PIL import Image

    path = charts.animate(result, tmp_path / "a.gif", every=10, dpi=50)
    with Image.open(path) as im:
        assert im.n_frames == 4  # weeks 0, 10, 20, 30
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB"), dtype=float))
    assert np.abs(frames[0] - frames[-1]).mean() > 0.5
    with pytest.raises(ValueError, match="gif"):
        charts.animate(result, tmp_path / "a.avi")
