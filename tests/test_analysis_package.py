"""vizkit.analysis: one module per figure family, every public name importable from the package."""

import importlib

import vizkit.analysis as analysis
from vizkit.figures import FAMILIES


def test_every_family_has_an_analysis_module_and_the_package_exports_its_names():
    for family in FAMILIES:
        module = importlib.import_module(f"vizkit.analysis.{family.replace('-', '_')}")
        assert module.__all__, family
    assert len(set(analysis.__all__)) == len(analysis.__all__)
    assert all(hasattr(analysis, n) for n in analysis.__all__)
    fm = importlib.import_module("vizkit.analysis.feature_maps")
    for name in ("conv_filters", "conv_layers", "feature_maps", "NoConvLayers"):
        assert getattr(analysis, name) is getattr(fm, name)


def test_split_packages_keep_their_names_where_they_were():
    at = importlib.import_module("vizkit.analysis.attributions")
    rf = importlib.import_module("vizkit.analysis.receptive_fields")
    for pkg in (at, rf):
        for name in pkg.__all__:
            obj = getattr(pkg, name)
            # each lives in one submodule of the package (or in analysis._layers)
            home = getattr(obj, "__module__", pkg.__name__) or pkg.__name__
            assert home.startswith((pkg.__name__, "vizkit.analysis._layers", "builtins")), \
                (name, home)
    assert at.randomization_check.__module__ == "vizkit.analysis.attributions.randomization"
    assert rf.theoretical_receptive_field.__module__ == "vizkit.analysis.receptive_fields.geometry"
