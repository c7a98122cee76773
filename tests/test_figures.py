"""The figure-family registry and its contract, and the one write path of figures."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.figures import (FAMILIES, Figure, NotApplicable, get_family, list_families,
                            make_figures, unique_stem, write_figure, write_figures)

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["weights", "receptive-fields", "actmax", "bottleneck", "decision-surface", "errors",
         "attributions", "faithfulness", "embedding", "feature-maps", "over-training"]


def test_registry_order_and_names():
    assert list_families() == ORDER == list(FAMILIES)
    for name, module in FAMILIES.items():
        assert module.NAME == name
        assert module.__name__ == "vizkit.figures." + name.replace("-", "_")
        assert get_family(name) is module
        assert callable(module.applies) and callable(module.figures)
        assert {"NAME", "applies", "figures"} <= set(module.__all__)
        for public in module.__all__:
            assert hasattr(module, public), (name, public)


@pytest.mark.parametrize("call", [lambda: get_family("weigths"),
                                  lambda: make_figures("weigths", None, None)])
def test_unknown_family_names_the_choices(call):
    with pytest.raises(ValueError) as e:
        call()
    msg = str(e.value)
    assert "'weigths'" in msg and all(f"'{n}'" in msg for n in ORDER)


class _Split:
    """The parts of a Split that the applicability checks read."""

    def __init__(self, input_shape, name="toy"):
        self.input_shape, self.name = tuple(input_shape), name


class _Estimator:
    """Not a torch model (a scikit-learn-like estimator)."""


NOT_APPLICABLE = [
    # (family, model, input shape, words of the reason)
    ("weights", nn.Linear(2, 3), (2,), "image inputs"),
    ("weights", nn.Sequential(nn.Flatten(), nn.Linear(16, 5), nn.ReLU(), nn.Linear(5, 3)),
     (1, 4, 4), "linear"),
    ("receptive-fields", nn.Linear(2, 3), (2,), "(C, H, W)"),
    ("receptive-fields", nn.Linear(48, 3), (3, 4, 4), "single-channel"),
    ("receptive-fields", _Estimator(), (1, 4, 4), "torch model"),
    ("actmax", nn.Linear(2, 3), (2,), "(C, H, W)"),
    ("actmax", _Estimator(), (1, 4, 4), "torch model"),
    ("bottleneck", nn.Sequential(nn.Linear(2, 3)), (2,), "2D layer"),
    ("bottleneck", _Estimator(), (2,), "2D layer"),
    ("decision-surface", nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), (1, 4, 4), "2D inputs"),
    ("decision-surface", _Estimator(), (3,), "2D inputs"),
    ("attributions", _Estimator(), (1, 4, 4), "nn.Module"),
    ("attributions", nn.Linear(2, 3), (2,), "[C, H, W]"),
    ("embedding", _Estimator(), (2,), "nn.Module"),
    ("feature-maps", _Estimator(), (1, 4, 4), "torch model"),
    ("feature-maps", nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), (1, 4, 4), "Conv2d"),
    ("feature-maps", nn.Sequential(nn.Conv2d(1, 2, 3)), (2,), "image data"),
]


@pytest.mark.parametrize("name, model, shape, words", NOT_APPLICABLE)
def test_applies_gives_the_reason_figures_raises(name, model, shape, words):
    family, split = get_family(name), _Split(shape)
    reason = family.applies(model, split)
    assert isinstance(reason, str) and words in reason
    with pytest.raises(NotApplicable) as e:
        family.figures(model, split)
    assert str(e.value) == reason


@pytest.mark.parametrize("name, model, shape", [
    ("weights", nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), (1, 4, 4)),
    ("decision-surface", nn.Linear(2, 3), (2,)),
    ("decision-surface", nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3)), (4,)),
    ("bottleneck", nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3)), (4,)),
    ("errors", _Estimator(), (2,)),
    ("embedding", nn.Linear(2, 3), (2,)),
    ("feature-maps", nn.Sequential(nn.Conv2d(1, 2, 3)), (1, 4, 4)),
])
def test_applies_says_none_when_the_family_fits(name, model, shape):
    assert get_family(name).applies(model, _Split(shape)) is None


# ---------------------------------------------------------------------------- write_figures
def _fig(pyplot, id, data=None):
    fig, ax = pyplot.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    return Figure(id, fig, f"caption of {id}", data=data or {})


def test_unique_stem():
    taken = {"a"}
    assert [unique_stem(s, taken) for s in ("a", "A", "a-2", "../../etc/x", "<>")] == \
        ["a-2", "a-3", "a-2-2", "etc-x", "figure"]
    assert taken == {"a", "a-2", "a-3", "a-2-2", "etc-x", "figure"}


def test_write_figures_names_npz_and_bytes(pyplot, tmp_path):
    from vizkit._io import png_bytes

    ref = _fig(pyplot, "ref")
    want = png_bytes(ref.fig, dpi=30)
    figs = [_fig(pyplot, "Same Id", {"x": np.arange(3), "y": np.eye(2)}), _fig(pyplot, "same-id"),
            _fig(pyplot, "../../outside", {"z": np.zeros(1)})]
    taken = {"same-id-2"}  # a name an earlier call took: never overwritten
    out = tmp_path / "out"
    paths = write_figures(figs, out, taken=taken, dpi=30)
    assert [p.name for p in paths] == ["same-id.png", "same-id-3.png", "outside.png"]
    assert sorted(os.listdir(out)) == ["outside.npz", "outside.png", "same-id-3.png",
                                       "same-id.npz", "same-id.png"]  # no .npz without arrays
    assert os.listdir(tmp_path) == ["out"]  # nothing outside out, no temporary file left
    assert paths[1].read_bytes() == want  # the same bytes as the deterministic PNG writer
    with np.load(out / "same-id.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["x", "y"]
        np.testing.assert_array_equal(z["y"], np.eye(2))
    assert not pyplot.get_fignums() or ref.fig.number in pyplot.get_fignums()
    assert all(f.fig.number not in pyplot.get_fignums() for f in figs)  # closed once written


def test_write_figure_keeps_unchanged_files(pyplot, tmp_path):
    first = write_figure(_fig(pyplot, "a", {"v": np.ones(2)}), tmp_path, dpi=30)
    stamps = {p: p.stat().st_mtime_ns for p in (first.png, first.npz)}
    os.utime(first.png, ns=(1, 1))
    os.utime(first.npz, ns=(1, 1))
    again = write_figure(_fig(pyplot, "a", {"v": np.ones(2)}), tmp_path, dpi=30)
    assert again.png_bytes == first.png_bytes and stamps
    assert again.png.stat().st_mtime_ns == 1 and again.npz.stat().st_mtime_ns == 1


def test_gallery_and_cli_write_the_same_files(pyplot, tmp_path):
    from vizkit.gallery._context import DataChoice, RecipeContext

    ctx = RecipeContext("r", source="", out=tmp_path / "gal", cache_dir=tmp_path / "cache",
                        data=DataChoice("gmm-2d"))
    ids = ctx.figures([_fig(pyplot, "w", {"a": np.arange(4)}), _fig(pyplot, "w")])
    assert ids == ["w", "w-2"]
    paths = write_figures([_fig(pyplot, "w", {"a": np.arange(4)}), _fig(pyplot, "w")],
                          tmp_path / "cli")
    assert [p.stem for p in paths] == ids
    for name in ("w.png", "w.npz", "w-2.png"):
        assert (tmp_path / "gal" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert sorted(os.listdir(tmp_path / "gal")) == sorted(os.listdir(tmp_path / "cli"))
    assert [f["data"] for f in ctx.figures_] == [["a"], []]


# ---------------------------------------------------------------------------- one list drives all
def test_analyze_help_names_every_family():
    r = subprocess.run([sys.executable, "-m", "vizkit", "analyze", "--help"], capture_output=True,
                       text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    listed = re.search(r"comma list of (.*?), or all", text).group(1)
    assert listed.split(", ") == list_families()


def test_analyze_rejects_a_name_outside_the_registry(capsys):
    from vizkit.cli import main

    assert main(["analyze", "nothing.pt", "--what", "feature-maps,saliency", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "'saliency'" in err and all(n in err for n in ORDER)


def test_readme_family_table_is_the_registry():
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    layout = layout[:layout.index("\n## ", 1)]
    rows = [line for line in layout.splitlines() if line.startswith("| `")]
    names = [re.match(r"\| `([^`]+)`", r).group(1) for r in rows]
    assert names == list_families()
    for row, name in zip(rows, names):
        module = name.replace("-", "_")
        assert f"`{module}.py`" in row.split("|")[2], row  # the family module's file
        assert (ROOT / "vizkit" / "figures" / f"{module}.py").is_file()
