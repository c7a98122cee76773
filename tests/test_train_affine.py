"""``augment='affine'``: batched, seeded random rotation, scaling and shifts (grid_sample)."""

import math

import pytest
import torch
import torch.nn.functional as F

from vizkit.train import TrainConfig, check_config_for, train_model
from vizkit.train._augment import affine_matrices, random_affine

from _toy import image_split


def _warp(x, angle=0.0, scale=1.0, shift=(0.0, 0.0)):
    B = len(x)
    theta = affine_matrices(torch.full((B,), float(angle), dtype=torch.float64),
                            torch.full((B,), float(scale), dtype=torch.float64),
                            torch.tensor([shift] * B, dtype=torch.float64), x.shape[-2:])
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def test_no_rotation_scale_or_shift_is_the_identity():
    x = torch.rand(5, 2, 9, 9)
    y = random_affine(x, 0.0, 0.0, 0.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(y, x, rtol=0, atol=1e-6)


def test_same_seed_same_images_other_seed_other_images():
    x = torch.rand(6, 1, 12, 12)
    a = random_affine(x, 10.0, 0.1, 2.0, torch.Generator().manual_seed(4))
    b = random_affine(x, 10.0, 0.1, 2.0, torch.Generator().manual_seed(4))
    c = random_affine(x, 10.0, 0.1, 2.0, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert not torch.allclose(a, x)
    # bilinear sampling with zero fill: convex combinations of pixels and zeros
    assert a.min() >= 0 and a.max() <= x.max() + 1e-6


def test_whole_pixel_shift_equals_padded_slicing():
    x = torch.rand(2, 1, 7, 8)
    y = _warp(x, shift=(2.0, -1.0))  # 2 rows down, 1 column left
    # second route: pad with zeros and slice
    ref = F.pad(x, (1, 1, 2, 2))[:, :, 0:7, 2:10]
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-6)


def test_quarter_turn_equals_rot90_and_scale_two_enlarges_about_the_centre():
    x = torch.rand(3, 1, 6, 6)
    y = _warp(x, angle=math.pi / 2)
    # clockwise as displayed: torch.rot90 with k=-1 over (rows, columns)
    torch.testing.assert_close(y, torch.rot90(x, -1, dims=(2, 3)), rtol=0, atol=1e-5)
    # a 2x enlargement samples only the central half, so nothing comes from outside the image
    z = _warp(torch.ones(1, 1, 8, 8), scale=2.0)
    torch.testing.assert_close(z, torch.ones(1, 1, 8, 8), rtol=0, atol=1e-6)
    s = _warp(torch.ones(1, 1, 8, 8), scale=0.5)
    assert s[0, 0, 4, 4] == 1 and s[0, 0, 0, 0] == 0  # a shrunk image has a zero border


def test_vectors_are_returned_unchanged():
    v = torch.rand(4, 10)
    assert random_affine(v, 10.0, 0.1, 2.0, torch.Generator().manual_seed(0)) is v


@pytest.mark.parametrize("bad, message", [
    ({"augment": "rotate"}, "`augment` must be one of None, 'shift', 'affine'. Got 'rotate'"),
    ({"affine_degrees": -1.0}, "`affine_degrees` must be in [0, 180]. Got -1.0 instead."),
    ({"affine_degrees": 200}, "`affine_degrees` must be in [0, 180]. Got 200.0 instead."),
    ({"affine_scale": 1.0}, "`affine_scale` must be in [0, 1). Got 1.0 instead."),
])
def test_bad_affine_options_are_refused_by_name(bad, message):
    with pytest.raises(ValueError) as e:
        TrainConfig(**bad)
    assert message in str(e.value)


def test_affine_shift_must_be_smaller_than_the_images():
    split = image_split(size=8)
    with pytest.raises(ValueError, match="`shift_pixels` must be smaller than the images"):
        check_config_for(TrainConfig(augment="affine", shift_pixels=8), split)


def test_train_model_with_affine_augmentation_is_seeded():
    split = image_split(n=90, size=8)
    cfg = {"epochs": 3, "batch_size": 16, "augment": "affine", "shift_pixels": 1,
           "affine_degrees": 15.0, "progress": False, "seed": 2}
    spec = {"class": "ConvNet", "args": {"image_size": 8, "n_classes": 3, "channels": [4],
                                         "hidden": 8}}
    a, ha, _ = train_model(spec, split, cfg)
    b, hb, _ = train_model(spec, split, cfg)
    c, _, _ = train_model(spec, split, {**cfg, "augment": None})
    assert ha.series("train_loss") == hb.series("train_loss")
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert not torch.equal(a.state_dict()["features.0.weight"], c.state_dict()["features.0.weight"])
