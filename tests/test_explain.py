"""vizkit.explain and `vizkit explain`: the page's numbers by a second route, offline, escaped,
the picker in a real browser, bad input."""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import re

import numpy as np
import pytest
import torch

from vizkit import analysis as an
from vizkit.cli import main
from vizkit.data import load
from vizkit.explain import attribution_options, explain, page_data, page_html, select_inputs, write_explanation
from vizkit.train import train_model

from test_gallery_browser import browser  # noqa: F401 - headless Chromium, skipped without it

FAST = dict(n_images=12, n_steps=8, actmax_steps=8, seed=0)


@pytest.fixture(scope="module")
def split():
    return load("digits")


@pytest.fixture(scope="module")
def mlp(split, tmp_path_factory):
    path = tmp_path_factory.mktemp("explain-mlp") / "model.pt"
    model, _, _ = train_model("mlp", split, {"epochs": 2, "log_every": 0, "seed": 0},
                              checkpoint=path, hidden=(24,))
    return model, path


@pytest.fixture(scope="module")
def cnn(split):
    model, _, _ = train_model("cnn", split, {"epochs": 2, "log_every": 0, "seed": 0},
                              channels=(4, 8), hidden=16)
    return model


@pytest.fixture(scope="module")
def mlp_expl(mlp, split):
    return explain(mlp[0], split, **FAST)


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


# ----------------------------------------------------------------------------- selection
def test_select_inputs_keeps_every_error_and_stratifies_the_rest():
    y = np.repeat(np.arange(4), 10)
    p = y.copy()
    p[[0, 11, 25]] = 3
    idx = select_inputs(y, p, n_images=11, seed=0)
    assert len(idx) == 11 and {0, 11, 25} <= set(idx.tolist())
    right = [i for i in idx if y[i] == p[i]]
    assert sorted(np.bincount(y[right], minlength=4).tolist()) == [2, 2, 2, 2]
    assert np.array_equal(idx, select_inputs(y, p, n_images=11, seed=0))
    assert not np.array_equal(idx, select_inputs(y, p, n_images=11, seed=1))


def test_select_inputs_caps_errors_so_correct_ones_stay():
    y = np.zeros(100, dtype=int)
    p = np.where(np.arange(100) < 60, 1, 0)
    idx = select_inputs(y, p, n_images=8, seed=0)
    assert len(idx) == 8 and int((y[idx] != p[idx]).sum()) == 6


# ----------------------------------------------------------------------------- second route
def test_page_numbers_equal_the_analysis_functions(mlp, mlp_expl, split):
    model, _ = mlp
    data = page_data(mlp_expl)
    assert len(data["inputs"]) == 12 and data["classes"] == list(split.classes)
    for k in (0, 5, 11):
        inp = data["inputs"][k]
        x = split.x_test[inp["index"]:inp["index"] + 1]
        with torch.no_grad():
            p = torch.softmax(model(x).double(), 1)[0].numpy()
        assert inp["label"] == int(split.y_test[inp["index"]])
        assert inp["pred"] == int(p.argmax())
        np.testing.assert_allclose(inp["probs"], p, atol=1e-5)
        # deletion AUC of each map: attributions -> faithfulness curves, recomputed for one input
        for j, m in enumerate(mlp_expl.methods):
            maps = an.attributions(model, x, target=inp["pred"], methods=m,
                                   **attribution_options(x.shape[1:])).maps
            f = an.faithfulness_curves(model, x, maps, target=inp["pred"], n_steps=8, n_random=0)
            assert inp["maps"][j]["del"] == pytest.approx(f.deletion_auc[0], abs=2e-4), m
            assert inp["maps"][j]["ins"] == pytest.approx(f.insertion_auc[0], abs=2e-4), m
        # units: activation x gradient of a ReLU layer feeding the output Linear is a_j W[c, j]
        a = an.layer_activations(model, x, mlp_expl.layer)[0].double()
        w = model.layers[-1].weight[inp["pred"]].detach().double()
        contrib = (a * w).numpy()
        top = np.argsort(-contrib, kind="stable")[:3]
        assert [u for u, _ in inp["units"]] == top.tolist()
        np.testing.assert_allclose([s for _, s in inp["units"]], contrib[top], atol=1e-4)
        # nearest training images: brute-force distances in the same layer
        train = an.layer_activations(model, split.x_train, mlp_expl.layer).double()
        d = torch.cdist(a[None], train)[0].numpy()
        near = np.argsort(d, kind="stable")[:5]
        assert [lab for _, lab, _ in inp["nn"]] == split.y_train.numpy()[near].tolist()
        np.testing.assert_allclose([dist for _, _, dist in inp["nn"]], d[near], atol=2e-3)
        # the caption says the numbers shown
        names = split.classes
        second = np.argsort(-p, kind="stable")[1]
        assert inp["caption"].startswith(f"predicted {names[p.argmax()]} with p {p.max():.2f}; "
                                         f"the second choice {names[second]} at {p[second]:.2f}")


def test_units_share_actmax_and_exemplars(mlp_expl, split, mlp):
    data = page_data(mlp_expl)
    shown = {u for inp in data["inputs"] for u, _ in inp["units"]}
    assert set(map(int, data["units"])) == shown == set(mlp_expl.units.tolist())
    acts = an.layer_activations(mlp[0], split.x_test, mlp_expl.layer).numpy()
    for u, info in data["units"].items():
        assert acts[info["exi"], int(u)].tolist() == sorted(acts[:, int(u)], reverse=True)[:4]
    # the data URIs are stored once and referenced
    assert len(set(data["images"])) == len(data["images"])


def test_mlp_fields_are_the_propagated_fields(mlp, mlp_expl, split):
    ref = an.propagated_receptive_fields(mlp[0], -1, units=list(range(10)))
    np.testing.assert_allclose(mlp_expl.fields, ref.fields)


def test_cnn_gets_grad_cam_and_no_fields(cnn, split):
    e = explain(cnn, split, indices=[0, 1, 2], n_steps=4, actmax_steps=4)
    assert "grad_cam" in e.methods and e.fields is None and e.layer == "classifier.2"
    assert np.array_equal(e.indices, [0, 1, 2])
    best = e.most_faithful()
    for i in range(3):
        assert "most faithful map here is" in e.captions[i]
        aucs = [e.faithfulness[m].deletion_auc[i] for m in e.methods]
        assert best[i] == e.methods[int(np.argmin(aucs))]


# ----------------------------------------------------------------------------- the files
def test_write_explanation_writes_two_files_and_the_arrays(mlp_expl, tmp_path):
    paths = write_explanation(mlp_expl, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["explanation.npz", "index.html"]
    with np.load(paths[1]) as z:
        np.testing.assert_array_equal(z["indices"], mlp_expl.indices)
        np.testing.assert_allclose(z["deletion_auc_saliency"],
                                   mlp_expl.faithfulness["saliency"].deletion_auc)
    assert paths[0].stat().st_size < 5e6 * len(mlp_expl) / 100


def test_page_fetches_nothing_from_outside(mlp_expl):
    page = page_html(mlp_expl)
    for attr in re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]+)', page):
        assert not re.match(r"(?i)(https?:)?//", attr), attr
    for call in ("fetch(", "XMLHttpRequest", "import(", "<link", "@import", "url(http"):
        assert call not in page
    assert all(u.startswith("data:image/png;base64,") for u in _data(page)["images"])


def test_class_names_stay_text(mlp, split):
    evil = "<script>alert(1)</script>&amp;"
    s = dataclasses.replace(split, classes=(evil,) + tuple(split.classes[1:]))
    e = explain(mlp[0], s, indices=[0, 1], n_steps=2, actmax_steps=2)
    page = page_html(e, title=f"title {evil}")
    assert "<script>alert" not in page
    assert f"title {html_lib.escape(evil)}" in page
    assert _data(page)["classes"][0] == evil            # the JSON round-trips to the same text
    assert page.count("<script") == 2                   # the data block and the page's script


# ----------------------------------------------------------------------------- the command
def test_cli_writes_the_page(mlp, tmp_path, capsys):
    _, ckpt = mlp
    assert main(["explain", str(ckpt), "--out", str(tmp_path / "e"), "--index", "4,2"]) == 0
    data = _data((tmp_path / "e" / "index.html").read_text())
    assert [inp["index"] for inp in data["inputs"]] == [4, 2]
    assert "2 test images explained" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--index", "359"], r"--index must be in 0\.\.358 \(the test set has 359 images\)\. Got 359"),
    (["--index=-1,3"], r"--index must be in 0\.\.358"),
    (["--index", "x"], r"--index must be test-set positions in 0\.\.358"),
    (["--index", "1", "--images", "3"], r"give --images N or --index I,\.\.\. \(not both\)"),
    (["--images", "0"], "--images must be an int >= 1"),
])
def test_cli_bad_input_exits_2_with_one_line(mlp, tmp_path, capsys, args, message):
    _, ckpt = mlp
    out = tmp_path / "never"
    assert main(["explain", str(ckpt), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err)
    assert not out.exists()


# ----------------------------------------------------------------------------- real browser
def _state(drv) -> dict:
    return drv.execute_script("""
        return {img: document.getElementById('main-img').src,
                caption: document.getElementById('caption').textContent,
                bars: Array.from(document.querySelectorAll('#bars .bar')).map(b => b.dataset.p),
                truth: Array.from(document.querySelectorAll('#bars .bar')).findIndex(
                           b => b.classList.contains('true')),
                maps: Array.from(document.querySelectorAll('#maps img')).map(i => i.src),
                current: Array.from(document.querySelectorAll('#strip button')).findIndex(
                           b => b.getAttribute('aria-current') === 'true')};""")


def test_picker_switches_image_bars_and_maps(browser, mlp_expl, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    write_explanation(mlp_expl, tmp_path / "page")
    data = page_data(mlp_expl)
    browser.set_window_size(1100, 900)
    browser.get((tmp_path / "page" / "index.html").as_uri())
    s0 = _state(browser)
    assert s0["current"] == 0 and s0["caption"] == data["inputs"][0]["caption"]
    assert s0["truth"] == data["inputs"][0]["label"]
    assert [float(v) for v in s0["bars"]] == data["inputs"][0]["probs"]
    bold = browser.execute_script(
        "return Array.from(document.querySelectorAll('#maps .cell')).findIndex("
        "c => c.classList.contains('best'))")
    assert mlp_expl.methods[bold] == mlp_expl.most_faithful()[0]
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    s1 = _state(browser)
    assert s1["current"] == 1 and s1["caption"] == data["inputs"][1]["caption"]
    assert s1["img"] != s0["img"] and s1["bars"] != s0["bars"] and s1["maps"] != s0["maps"]
    browser.find_elements(By.CSS_SELECTOR, "#strip button")[7].click()
    s7 = _state(browser)
    assert s7["current"] == 7 and [float(v) for v in s7["bars"]] == data["inputs"][7]["probs"]
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    assert _state(browser)["current"] == 6
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    # readable at 420 px: nothing wider than the window
    browser.set_window_size(420, 900)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= \
        browser.execute_script("return window.innerWidth")
