"""The model cache cannot lie: a cached checkpoint is used only when it is exactly what vizkit
wrote for this request (its key, the key stored inside it, the bytes it recorded); anything else
is trained again, with a log line saying why. Stale temporaries of a killed write are swept."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import vizkit.train
from vizkit import checkpoint
from vizkit._io import UnsafePathError, file_lock, sha256
from vizkit.gallery import _cache
from vizkit.gallery._cache import (RECORD_SUFFIX, cache_key, load_entry, record_entry,
                                   sweep_stale_temporaries, training_code_version)
from vizkit.gallery._context import DataChoice, RecipeContext

CONFIG = {"epochs": 2, "batch_size": 16}


class _Env:
    """One cache folder; each :meth:`ctx` is a fresh build's view of it, logging into ``logs``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp, self.cache, self.logs = tmp_path, tmp_path / "cache", []

    def ctx(self, *, retrain: bool = False) -> RecipeContext:
        return RecipeContext("r", source="# recipe", out=self.tmp / "out", cache_dir=self.cache,
                             data=DataChoice("gmm-2d"), seed=0, lib_version="test",
                             retrain=retrain, log=self.logs.append)

    def split(self, seed: int = 0):
        return self.ctx().data("gmm-2d", seed=seed, K=2, C=2, N=10)

    def train(self, ctx=None, *, data_seed: int = 0, hidden=(4,), key: str = "m", **config):
        ctx = ctx or self.ctx()
        net, _, _ = ctx.train(key, "mlp", self.split(data_seed), {**CONFIG, **config},
                              hidden=hidden)
        return ctx, net, self.cache / "r" / f"{key}-{ctx.checkpoints_[-1]['hash']}.pt"


@pytest.fixture
def env(tmp_path):
    return _Env(tmp_path)


def _state(net) -> dict:
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and (a[k] == b[k]).all()
                                        for k in a)


def _record(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def _rewrite(path: Path, source: Path, **changes) -> None:
    """Save the model at ``source`` to ``path`` with meta entries changed (the record untouched)."""
    model, meta = checkpoint.load(source)
    meta = {k: v for k, v in meta.items() if k not in ("versions", "path")}
    meta.update(changes)
    checkpoint.save(path, model, **meta)


def _forge_record(path: Path, digest: str) -> None:
    """What an attacker who knows the record's format writes: a record matching the bytes."""
    data = path.read_bytes()
    _record(path).write_text(json.dumps({"format": "vizkit-cache-entry", "key": digest,
                                         "size": len(data), "sha256": sha256(data)}))


# ----------------------------------------------------------------------------- poisoned entries
def _other_seed(env, path, digest):  # another model of the same architecture at the key's name
    _, _, other = env.train(seed=1)
    shutil.copyfile(other, path)


def _other_seed_with_its_record(env, path, digest):
    _, _, other = env.train(seed=1)
    shutil.copyfile(other, path)
    shutil.copyfile(_record(other), _record(path))


def _other_architecture(env, path, digest):
    _, _, other = env.train(hidden=(7,))
    shutil.copyfile(other, path)
    shutil.copyfile(_record(other), _record(path))


def _other_data(env, path, digest):  # another data set's fingerprint
    _, _, other = env.train(data_seed=1)
    shutil.copyfile(other, path)
    shutil.copyfile(_record(other), _record(path))


def _rewritten_key(env, path, digest):  # another model whose stored gallery_key matches
    _, _, other = env.train(seed=1)
    _rewrite(path, other, gallery_key=digest)


def _rewritten_key_and_forged_record_other_data(env, path, digest):
    _, _, other = env.train(data_seed=1)
    _rewrite(path, other, gallery_key=digest)
    _forge_record(path, digest)


def _forged_record_other_stored_key(env, path, digest):
    _, _, other = env.train(seed=1)
    shutil.copyfile(other, path)
    _forge_record(path, digest)


def _truncated(env, path, digest):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _one_flipped_byte(env, path, digest):
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 1
    path.write_bytes(bytes(data))


def _missing_record(env, path, digest):
    _record(path).unlink()


def _garbage_record(env, path, digest):
    _record(path).write_text("{not json")


def _record_of_another_key(env, path, digest):
    rec = json.loads(_record(path).read_text())
    _record(path).write_text(json.dumps({**rec, "key": "0123456789abcdef"}))


def _record_is_a_link(env, path, digest):
    real = env.tmp / "elsewhere.sha256"
    shutil.move(_record(path), real)
    _record(path).symlink_to(real)


def _checkpoint_is_a_link(env, path, digest):
    real = env.tmp / "elsewhere.pt"
    shutil.move(path, real)
    path.symlink_to(real)


def _interrupted_training(env, path, digest):  # best epoch so far, no test metrics, recorded
    model, meta = checkpoint.load(path)
    meta = {k: v for k, v in meta.items() if k not in ("versions", "path", "metrics")}
    checkpoint.save(path, model, **meta)
    _forge_record(path, digest)


POISONS = [
    (_other_seed, "its bytes are not the ones vizkit wrote"),
    (_other_seed_with_its_record, "its record is for another request"),
    (_other_architecture, "its record is for another request"),
    (_other_data, "its record is for another request"),
    (_rewritten_key, "its bytes are not the ones vizkit wrote"),
    (_rewritten_key_and_forged_record_other_data, "it was trained on other data"),
    (_forged_record_other_stored_key, "its stored key"),
    (_truncated, "its bytes are not the ones vizkit wrote"),
    (_one_flipped_byte, "its bytes are not the ones vizkit wrote"),
    (_missing_record, "no record of vizkit writing it"),
    (_garbage_record, "its record is unreadable"),
    (_record_of_another_key, "its record is for another request"),
    (_record_is_a_link, "symbolic link"),
    (_checkpoint_is_a_link, "symbolic link"),
    (_interrupted_training, "no test metrics"),
]


@pytest.mark.parametrize("poison, reason", POISONS, ids=[p.__name__ for p, _ in POISONS])
def test_a_poisoned_entry_is_trained_again_never_used(env, poison, reason):
    ctx, net, path = env.train()
    digest, good = ctx.checkpoints_[-1]["hash"], _state(net)
    poison(env, path, digest)
    env.logs.clear()
    again, net2, path2 = env.train()
    assert path2 == path and again.n_trained == 1 and again.n_cached == 0
    (line,) = [m for m in env.logs if "not used" in m]
    assert reason in line and "training again" in line
    assert _same(_state(net2), good)  # seeded: the very model the request asked for
    # and what it wrote now is trusted by the next build
    third, net3, _ = env.train()
    assert third.n_cached == 1 and third.n_trained == 0 and _same(_state(net3), good)
    assert not path.is_symlink() and not _record(path).is_symlink()


def test_a_clean_entry_is_used_without_a_word_and_its_record_matches_its_bytes(env):
    ctx, net, path = env.train()
    rec = json.loads(_record(path).read_text())
    data = path.read_bytes()
    assert rec == {"format": "vizkit-cache-entry", "key": ctx.checkpoints_[-1]["hash"],
                   "size": len(data), "sha256": sha256(data)}
    env.logs.clear()
    again, net2, _ = env.train()
    assert again.n_cached == 1 and again.n_trained == 0 and _same(_state(net2), _state(net))
    assert not any("not used" in m for m in env.logs)


def test_no_log_line_when_there_is_nothing_cached_yet(env):
    env.train()
    assert not any("not used" in m for m in env.logs)


def test_a_training_killed_midway_leaves_nothing_the_next_build_trusts(env, monkeypatch):
    ctx, net, path = env.train()
    real = vizkit.train.train_model

    def killed(spec, split, cfg, *, checkpoint=None, meta=None, recorder=None):
        Path(checkpoint).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(vizkit.train, "train_model", killed)
    with pytest.raises(KeyboardInterrupt):
        env.train(env.ctx(retrain=True))
    assert not _record(path).exists()  # the record went before training started
    monkeypatch.setattr(vizkit.train, "train_model", real)
    env.logs.clear()
    again, net2, _ = env.train()
    assert again.n_trained == 1 and any("no record of vizkit writing it" in m for m in env.logs)
    assert _same(_state(net2), _state(net))


def test_load_entry_reports_a_missing_checkpoint_as_missing(tmp_path):
    with pytest.raises(_cache.CacheMiss) as info:
        load_entry(tmp_path / "m-0123456789abcdef.pt", "0123456789abcdef", fingerprint="x")
    assert info.value.missing


def test_a_cache_folder_that_is_a_link_is_refused(env):
    outside = env.tmp / "outside"
    outside.mkdir()
    env.cache.mkdir()
    (env.cache / "r").symlink_to(outside, target_is_directory=True)
    ctx = env.ctx()
    with pytest.raises(UnsafePathError, match="symbolic link"):
        env.train(ctx)
    assert ctx.n_trained == 0 and list(outside.iterdir()) == []


# ----------------------------------------------------------------------------- the key
def test_the_same_name_trained_on_two_different_splits_gets_two_keys(env):
    """Same data set name, same shapes and model: only the data's fingerprint differs."""
    a, b = env.split(0), env.split(1)
    assert a.name == b.name and a.x_train.shape == b.x_train.shape
    assert a.fingerprint != b.fingerprint
    ctx = env.ctx()
    env.train(ctx, data_seed=0)
    env.train(ctx, data_seed=1)
    h0, h1 = (c["hash"] for c in ctx.checkpoints_)
    assert h0 != h1 and ctx.n_trained == 2 and ctx.n_cached == 0
    assert len(list((env.cache / "r").glob("m-*.pt"))) == 2
    assert not any("not used" in m for m in env.logs)  # two entries, neither poisoned the other


BASE = dict(recipe="r" * 64, version="1.0", key="m", spec={"class": "PTDeep", "args": [2, 4]},
            config={"epochs": 2, "lr": 0.1}, seed=0, data=("gmm-2d", "abc"))


@pytest.mark.parametrize("field, value", [
    ("recipe", "s" * 64), ("recipe", "shared"), ("version", "1.1"), ("key", "n"),
    ("spec", {"class": "PTDeep", "args": [2, 5]}), ("spec", {"class": "ConvNet", "args": [2, 4]}),
    ("config", {"epochs": 3, "lr": 0.1}), ("config", {"epochs": 2, "lr": 0.2}), ("seed", 1),
    ("data", ("gmm-2d", "abd")), ("data", ("digits", "abc")),
])
def test_every_input_that_decides_the_weights_changes_the_key(field, value):
    assert cache_key(**{**BASE, field: value}) != cache_key(**BASE)
    assert cache_key(**BASE) == cache_key(**dict(BASE))


def test_the_training_code_is_in_the_key(monkeypatch):
    before = cache_key(**BASE)
    monkeypatch.setattr(_cache, "training_code_version", lambda: "another-version")
    assert cache_key(**BASE) != before


def test_the_training_code_version_covers_train_models_and_the_split_code(tmp_path):
    root = tmp_path / "pkg"
    for rel in ("train/_fit.py", "models/_base.py", "data/_split.py", "data/_holdout.py",
                "data/_idx.py", "gallery/_html.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    base = _cache._code_hash(root, _cache._TRAINING_CODE)
    for rel, counts in [("train/_fit.py", True), ("models/_base.py", True),
                        ("data/_split.py", True), ("data/_holdout.py", True),
                        ("data/_idx.py", False), ("gallery/_html.py", False)]:
        original = (root / rel).read_text()
        (root / rel).write_text(original + "x = 1\n")
        assert (_cache._code_hash(root, _cache._TRAINING_CODE) != base) is counts, rel
        (root / rel).write_text(original)
    (root / "train" / "_new.py").write_text("")  # a new module of the training code
    assert _cache._code_hash(root, _cache._TRAINING_CODE) != base
    real_root = Path(_cache.__file__).resolve().parents[1]
    assert training_code_version() == _cache._code_hash(real_root, _cache._TRAINING_CODE)
    assert training_code_version() is training_code_version()  # once per process


# ----------------------------------------------------------------------------- stale temporaries
DIGEST = "0123456789abcdef"


def test_sweep_removes_only_stale_temporaries_of_cache_entries(tmp_path):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (cache / "r").mkdir(parents=True)
    (cache / "_shared").mkdir()
    outside.mkdir()
    (outside / f".m-{DIGEST}.pt.abcdefgh.tmp").write_bytes(b"not the cache's")
    stale = [f"r/.model-{DIGEST}.pt.abc_efgh.tmp", f"r/.model-{DIGEST}.pt.sha256.k2j4h5g6.tmp",
             f"_shared/.same-{DIGEST}.pt.zzzzzzzz.tmp"]
    kept = [f"r/model-{DIGEST}.pt", f"r/model-{DIGEST}.pt.sha256",
            "r/.notes.tmp", f"r/.model-{DIGEST}.pt.abc.tmp", f"r/.model-{DIGEST}.npz.abcdefgh.tmp",
            f"r/model-{DIGEST}.pt.abcdefgh.tmp", f".m-{DIGEST}.pt.abcdefgh.tmp",
            f"r/.busy-{DIGEST}.pt.abcdefgh.tmp"]
    for rel in stale + kept:
        (cache / rel).write_bytes(b"x")
    # a link with the pattern's name, and a cache folder that is a link: left alone
    (cache / "r" / f".link-{DIGEST}.pt.abcdefgh.tmp").symlink_to(outside / "precious")
    (cache / "linked").symlink_to(outside, target_is_directory=True)
    (cache / "lockless").mkdir()
    (cache / "lockless" / f".l-{DIGEST}.pt.abcdefgh.tmp").write_bytes(b"x")
    (cache / "lockless" / f"l-{DIGEST}.pt.lock").symlink_to(outside / "lock-target")
    with file_lock(cache / "r" / f"busy-{DIGEST}.pt.lock"):  # being written right now
        gone = sweep_stale_temporaries(cache)
    assert sorted(gone) == sorted(stale)
    for rel in kept:
        assert (cache / rel).is_file(), rel
    assert (cache / "r" / f".link-{DIGEST}.pt.abcdefgh.tmp").is_symlink()
    assert (cache / "lockless" / f".l-{DIGEST}.pt.abcdefgh.tmp").is_file()
    assert sorted(p.name for p in outside.iterdir()) == [f".m-{DIGEST}.pt.abcdefgh.tmp"]
    assert sweep_stale_temporaries(tmp_path / "no-cache") == []


def test_a_build_sweeps_what_a_killed_checkpoint_write_left(tmp_path):
    from vizkit.gallery import build_gallery

    rdir = tmp_path / "recipes"
    rdir.mkdir()
    (rdir / "plain.py").write_text('"""No training."""\n\n\ndef run(ctx):\n    ctx.metric("n", 1)\n')
    cache = tmp_path / "cache"
    (cache / "other").mkdir(parents=True)
    left = cache / "other" / f".model-{DIGEST}.pt.q1w2e3r4.tmp"
    left.write_bytes(b"half")
    assert build_gallery(tmp_path / "out", recipes_dir=rdir, cache_dir=cache, data="mnist-5k",
                         verbose=False) == 0
    assert not left.exists() and (cache / "other").is_dir()


def test_record_entry_reads_no_link(tmp_path):
    real = tmp_path / "real.pt"
    real.write_bytes(b"weights")
    (tmp_path / "m.pt").symlink_to(real)
    with pytest.raises(UnsafePathError):
        record_entry(tmp_path / "m.pt", DIGEST)
    assert not os.path.lexists(tmp_path / ("m.pt" + RECORD_SUFFIX))


def test_the_bytes_checked_against_the_record_are_the_bytes_loaded(env, monkeypatch):
    # a file swapped for another model between the hash check and the load must not be used:
    # the cache parses the very bytes it hashed (one read), not the path a second time
    ctx, net, path = env.train()
    _, other_net, other = env.train(seed=1, key="other")
    real = _cache.read_no_follow

    def swap_after_read(p, *args, **kwargs):
        data = real(p, *args, **kwargs)
        if Path(p) == path:
            shutil.copyfile(other, path)  # what a racing writer would do
        return data

    monkeypatch.setattr(_cache, "read_no_follow", swap_after_read)
    fingerprint = checkpoint.load(other)[1]["data"]["fingerprint"]
    loaded, _ = load_entry(path, ctx.checkpoints_[-1]["hash"], fingerprint=fingerprint)
    assert _same(_state(loaded), _state(net)) and not _same(_state(loaded), _state(other_net))


def test_load_from_bytes_equals_load_from_the_file_and_checks_them_the_same(tmp_path):
    from vizkit.models import PTDeep

    path = checkpoint.save(tmp_path / "m.pt", PTDeep([2, 3, 2]), seed=0, config={})
    data = path.read_bytes()
    a, meta_a = checkpoint.load(path)
    b, meta_b = checkpoint.load(tmp_path / "gone.pt", data=data)  # no file needed
    assert _same(_state(a), _state(b)) and meta_b["path"].endswith("gone.pt")
    with pytest.raises(checkpoint.CheckpointError, match="gone.pt"):
        checkpoint.load(tmp_path / "gone.pt", data=data[: len(data) // 2])
