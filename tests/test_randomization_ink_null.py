"""The randomization check's ink-pixel measure and its |ink * noise| null (vizkit issue 21,
item 1 follow-up): a whole-image rank correlation of input-multiplied maps is held up by the
shared zero background, so magnitude persists only when the absolute maps agree on the ink
beyond what a map that knows no model gets; and where Grad-CAM's map comes to follow the ink."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import (RandomizationCheck, attributions, grad_cam_stages,
                                          ink_pixels, input_structure, map_similarity,
                                          noise_null, randomization_check)


def _digits(n=5, size=12, seed=0):
    """Strokes of anti-aliased ink (values 0.3 to 1) on a black background, as MNIST's."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, size, size)
    for i in range(n):
        r, c = torch.randint(1, size - 6, (2,), generator=g).tolist()
        x[i, 0, r:r + 6, c:c + 2] = 0.3 + 0.7 * torch.rand(6, 2, generator=g)
        x[i, 0, r + 5, c:c + 5] = 0.3 + 0.7 * torch.rand(5, generator=g)
    return x


def _check(trained, randomized, x, *, signed=True, name="m"):
    sims = map_similarity(trained, randomized)
    ctrl = [input_structure(m, x) for m in (trained, randomized)]
    return RandomizationCheck(
        methods=(name,), layers=("fc",), labels=("fc1",),
        maps={name: torch.stack([trained, randomized])},
        **{k: v[None, None] for k, v in sims.items()},
        input_ink=np.stack([c["ink"] for c in ctrl])[None],
        input_edges=np.stack([c["edges"] for c in ctrl])[None], signed=(signed,),
        threshold=0.5, input_threshold=0.25, inputs=x,
        targets=torch.zeros(len(x), dtype=torch.long), seed=0)


def test_ink_pixel_rho_matches_scipy_and_quantus_on_the_same_masked_pixels():
    from quantus.functions.similarity_func import correlation_spearman
    from scipy.stats import spearmanr

    x = _digits()
    g = torch.Generator().manual_seed(1)
    a = x * torch.randn(x.shape, generator=g)  # zero off the ink, as input x gradient
    b = x * torch.randn(x.shape, generator=g)
    sims = map_similarity(a, b, inputs=x)
    mask = ink_pixels(a, x)
    assert mask.shape == (5, 12, 12) and np.array_equal(mask, (x[:, 0] > 0).numpy())
    for i in range(len(x)):
        p, q = np.abs(a[i, 0].numpy())[mask[i]], np.abs(b[i, 0].numpy())[mask[i]]
        assert sims["spearman_abs_ink"][i] == pytest.approx(spearmanr(p, q).statistic, abs=1e-9)
        assert sims["spearman_abs_ink"][i] == pytest.approx(correlation_spearman(p, q), abs=1e-9)
    # the shared zeros: whole-image rho high for unrelated values on the ink
    assert sims["spearman_abs"].min() > 0.9 and abs(sims["spearman_abs_ink"].mean()) < 0.3
    # a layer map of another resolution: the ink pooled to it decides which cells count
    pooled = nn.functional.avg_pool2d(x, 3)
    np.testing.assert_array_equal(ink_pixels(torch.rand(5, 4, 4, 4), x), (pooled[:, 0] > 0))


def test_noise_null_is_seeded_and_reaches_the_whole_image_number():
    from scipy.stats import spearmanr

    x = _digits()
    trained = x * torch.rand(x.shape, generator=torch.Generator().manual_seed(2))
    one = noise_null(trained, x, seed=4, n_draws=1)
    # by hand: the same draw, Spearman on the whole image and on the ink
    noise = np.abs(x[:, 0].numpy() * np.random.default_rng(4).standard_normal((5, 12, 12)))
    t = np.abs(trained[:, 0].numpy())
    for i in range(len(x)):
        ink = x[i, 0].numpy() > 0
        assert one["spearman_abs"][i] == pytest.approx(
            spearmanr(t[i].ravel(), noise[i].ravel()).statistic, abs=1e-9)
        assert one["spearman_abs_ink"][i] == pytest.approx(
            spearmanr(t[i][ink], noise[i][ink]).statistic, abs=1e-9)
    again, other = noise_null(trained, x, seed=4), noise_null(trained, x, seed=5)
    np.testing.assert_array_equal(again["spearman_abs"], noise_null(trained, x, seed=4)[
        "spearman_abs"])
    assert not np.array_equal(again["spearman_abs_ink"], other["spearman_abs_ink"])
    assert again["spearman_abs"].min() > 0.7  # a map that knows no model
    with pytest.raises(ValueError, match="`n_draws` must be an int >= 1. Got 0"):
        noise_null(trained, x, n_draws=0)
    with pytest.raises(ValueError, match="same length"):
        noise_null(trained[:2], x)


def test_magnitude_persists_only_on_the_ink_beyond_the_null():
    x = _digits(n=6)
    g = torch.Generator().manual_seed(3)
    trained = x * torch.randn(x.shape, generator=g)
    # the same values on the ink, scaled: magnitude persists, and it beats the null everywhere
    same = _check(trained, 2 * trained.abs(), x, signed=False)
    assert "magnitude" in same.persists()["m"]
    assert same.beats_null("m")
    # the ink times fresh noise: the whole image agrees (shared zeros), the ink does not
    fresh = _check(trained, x * torch.randn(x.shape, generator=g), x)
    p = fresh.persists()["m"]
    assert "magnitude" not in p and "input ink" in p
    assert fresh.mean("spearman_abs")[0, -1] >= 0.5 and fresh.mean("null_abs")[0] >= 0.5
    # trained and randomized maps both the ink's intensity: they agree on the ink far beyond
    # |ink * noise| (noise scrambles the order): magnitude persists, and the map is the ink
    ink_only = _check(x * (1 + 0.05 * torch.rand(x.shape, generator=g)), x.clone(), x)
    assert ink_only.mean("spearman_abs_ink")[0, -1] > 0.9 > 0.6 > ink_only.mean("null_abs_ink")[0]
    assert {"magnitude", "input ink"} <= set(ink_only.persists()["m"])
    # a map without a zero background whose magnitude persists: the whole image says so and
    # the null stays below the threshold
    dense = torch.rand(x.shape, generator=g) + 0.1
    kept = _check(dense, 3 * dense, x)
    assert "magnitude" in kept.persists()["m"] and kept.mean("null_abs")[0] < 0.5
    with pytest.raises(ValueError, match="`method` must be one of"):
        kept.beats_null("saliency")


def test_an_image_without_ink_gives_nan_not_a_made_up_number():
    x = _digits(n=3)
    x[1] = 0.0  # a blank image
    maps = x * 2 + 0.01 * torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    sims = map_similarity(maps, maps.flip(-1), inputs=x)
    assert np.isnan(sims["spearman_abs_ink"][1])
    assert np.isfinite(sims["spearman_abs_ink"][[0, 2]]).all()
    null = noise_null(maps, x)
    assert np.isnan(null["spearman_abs_ink"][1])
    chk = _check(maps, 2 * maps, x)
    assert chk.beats_null("m")  # decided on the images that have ink
    blank = torch.zeros(2, 1, 12, 12)
    assert not _check(torch.rand(2, 1, 12, 12), torch.rand(2, 1, 12, 12), blank).beats_null("m")


def test_randomization_check_carries_the_ink_measures_for_every_step():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 2))
    x = _digits(n=4)
    chk = randomization_check(net, x, target=1, methods=["saliency", "input_x_gradient"], seed=2)
    assert chk.spearman_abs_ink.shape == chk.spearman_abs.shape == (2, 2, 4)
    assert chk.null_abs.shape == chk.null_abs_ink.shape == chk.null_ssim.shape == (2, 4)
    np.testing.assert_allclose(chk.ink_share, (x[:, 0] > 0).float().mean((1, 2)).numpy()[None]
                               .repeat(2, 0))
    for k in range(2):
        ref = map_similarity(chk.maps["input_x_gradient"][0], chk.maps["input_x_gradient"][k + 1],
                             inputs=x)["spearman_abs_ink"]
        np.testing.assert_allclose(chk.spearman_abs_ink[1, k], ref)
    np.testing.assert_allclose(chk.null_abs[1], noise_null(chk.maps["input_x_gradient"][0], x,
                                                           seed=2)["spearman_abs"])


def test_grad_cam_stages_end_with_the_map_attributions_draws():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 36, 3))
    x = _digits(n=4)
    st = grad_cam_stages(net, x, target=torch.tensor([0, 1, 2, 0]), layer="4", seed=1)
    assert set(st) == {"raw", "relu", "stretched", "shape"} and st["raw"].shape == (2, 4)
    assert st["shape"].tolist() == [6, 6]  # the layer's own resolution, before the stretch
    # second route: the trained model's stretched stage is the control of the drawn map
    cam = attributions(net, x, target=torch.tensor([0, 1, 2, 0]), methods="grad_cam", layer="4")
    np.testing.assert_allclose(st["stretched"][0], input_structure(cam, x)["ink"], atol=1e-6)
    assert not np.allclose(st["raw"][0], st["raw"][1])  # the random copy differs
    with pytest.raises(ValueError, match="`layer` must name a submodule"):
        grad_cam_stages(net, x, target=0, layer="features.9")


def test_the_caption_says_a_whole_image_agreement_is_the_inks_with_its_numbers():
    from vizkit.figures.attributions import _randomized_caption, _sanity_caption

    x = _digits(n=6)
    g = torch.Generator().manual_seed(7)
    chk = _check(x * torch.randn(x.shape, generator=g), x * torch.randn(x.shape, generator=g), x,
                 name="input_x_gradient")
    whole, ink = chk.mean("spearman_abs")[0, -1], chk.mean("spearman_abs_ink")[0, -1]
    null, null_ink = chk.mean("null_abs")[0], chk.mean("null_abs_ink")[0]
    assert whole >= 0.5 and "magnitude" not in chk.persists()["input_x_gradient"]
    words = (f"(ρ |map| {whole:.2f} over the whole image, where |ink × noise| gives {null:.2f}, "
             f"but {ink:.2f} on the ink pixels, where it gives {null_ink:.2f})")
    for cap in (_sanity_caption(chk), _randomized_caption(chk, "0", {})):
        assert cap.startswith("Once every layer is re-initialized, input × gradient follows the "
                              "input's ink")
        assert words in cap and "keeps magnitude" not in cap
    # the per-method numbers at the end, nulls beside them
    assert (f"on the ink {ink:.2f} (null {null_ink:.2f}), SSIM {chk.mean('ssim')[0, -1]:.2f} "
            f"(null {chk.mean('null_ssim')[0]:.2f})") in _sanity_caption(chk)
