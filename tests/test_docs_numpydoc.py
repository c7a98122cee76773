"""numpydoc's validation over every class and function of every public module's ``__all__``.

The checks that matter to a reader of the API pages:

- GL08 the name has a docstring; SS01 it starts with a summary line;
- PR01 every parameter of the signature is documented; PR02 no documented parameter is unknown
  (a dataclass documents its fields, the constructor's parameters, as Attributes);
- RT01 a function that returns something has a Returns section;
- RA01 (ours) a function whose body raises an exception class has a Raises section;
- EX01 an Examples section, for functions and for classes that are not exceptions or dataclasses
  (a result record is shown by the examples of the function that returns it).
"""

import ast
import dataclasses
import importlib
import inspect
import textwrap
import types

import pytest
from numpydoc.docscrape import get_doc_object
from numpydoc.validate import validate

from vizkit.gallery._links import api_modules, canonical_name

CHECKS = ("GL08", "SS01", "PR01", "PR02", "RT01", "RA01", "EX01")


def documented_objects() -> dict[str, object]:
    """Documented name (the page that documents it) -> class or function, each object once."""
    out = {}
    for module in api_modules():
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, (type, types.FunctionType)):
                out.setdefault(canonical_name(f"{module}.{name}"), obj)
    return out


def _raises(obj) -> bool:
    """Does the function's own body (not nested functions) raise an exception class?"""
    if isinstance(obj, type):  # its own constructor (an inherited one is documented elsewhere)
        func = vars(obj).get("__init__")
        if func is None:
            return False
    else:
        func = obj
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(func))))
    except (OSError, TypeError, SyntaxError):
        return False
    stack = list(ast.iter_child_nodes(tree.body[0]))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id[:1].isupper():
                return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def errors(obj) -> list[str]:
    """The chosen checks that ``obj``'s docstring fails, as codes."""
    found = {code for code, _ in validate(f"{obj.__module__}.{obj.__qualname__}")["errors"]}
    wants_example = isinstance(obj, types.FunctionType) or not (
        issubclass(obj, BaseException) or dataclasses.is_dataclass(obj))
    if not wants_example:
        found.discard("EX01")
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        # a dataclass's constructor takes its fields: documented as its Attributes
        attributes = {n.strip() for item in get_doc_object(obj)["Attributes"]
                      for n in item.name.split(",")}
        if {f.name for f in dataclasses.fields(obj) if f.init} <= attributes:
            found -= {"PR01", "PR02"}
    if obj.__doc__ and _raises(obj) and not get_doc_object(obj)["Raises"]:
        found.add("RA01")
    return sorted(c for c in found if c in CHECKS)


# Known gaps: names whose docstrings still fail a check. They live in modules that other
# branches of this round were changing (analysis, plot, figures, gallery, train, checkpoint, cli,
# _io); the lead fixes them after the merge. Remove a name once it passes: the test below fails
# on a listed name that no longer has a gap, so this list only shrinks.
KNOWN_GAPS = {
    # names in modules changed by this round's other branches, measured after the merge
    "vizkit.analysis.Embedding": "PR01",
    "vizkit.analysis.Objective": "RA01",
    "vizkit.analysis.OverTraining": "PR01",
    "vizkit.analysis.OverTrainingRecorder": "EX01 RA01",
    "vizkit.analysis.PredictionExamples": "PR01",
    "vizkit.analysis.ReceptiveFields": "PR01",
    "vizkit.analysis.activation_maximization": "PR01 RA01",
    "vizkit.analysis.actmax.ImageParam": "RA01",
    "vizkit.analysis.actmax.as_objective": "EX01 PR01 RA01 RT01",
    "vizkit.analysis.actmax.blur": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.compose": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.data_prior": "EX01 PR01 RA01 RT01",
    "vizkit.analysis.actmax.degenerate": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.gaussian_blur": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.hartley": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.ink": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.parametrization.freq_scale": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.penalty": "EX01 PR01 RT01",
    "vizkit.analysis.actmax.random_affine": "EX01 PR01 RA01 RT01",
    "vizkit.analysis.actmax.render.optimize": "EX01 PR01 RA01 RT01",
    "vizkit.analysis.actmax.standard_transforms": "EX01 PR01 RT01",
    "vizkit.analysis.attribution_layer": "PR01 RT01",
    "vizkit.analysis.attribution_order": "PR01 RT01",
    "vizkit.analysis.attributions.get_method": "EX01 PR01 RT01",
    "vizkit.analysis.bottleneck.class_separation": "RA01",
    "vizkit.analysis.bottleneck_features": "EX01 RA01",
    "vizkit.analysis.bottleneck_head": "PR01 RA01 RT01",
    "vizkit.analysis.cascade_layers": "PR01 RT01",
    "vizkit.analysis.channel": "EX01 PR01 RT01",
    "vizkit.analysis.class_logit": "EX01 PR01 RT01",
    "vizkit.analysis.conv_field_units": "PR01 RA01 RT01",
    "vizkit.analysis.conv_filters": "EX01",
    "vizkit.analysis.conv_layers": "EX01 PR01 RT01",
    "vizkit.analysis.decision_surface": "RA01",
    "vizkit.analysis.decision_surface.SurfaceRecorder": "RA01",
    "vizkit.analysis.decision_surface.resolve_rect": "RA01 RT01",
    "vizkit.analysis.decision_surface.snapshot_epochs": "RA01 RT01",
    "vizkit.analysis.diversity": "EX01 PR01 RT01",
    "vizkit.analysis.embed_activations": "EX01",
    "vizkit.analysis.embedding_layers": "PR01 RT01",
    "vizkit.analysis.faithfulness_curves": "EX01",
    "vizkit.analysis.feature_maps": "EX01",
    "vizkit.analysis.find_bottleneck": "EX01 PR01 RT01",
    "vizkit.analysis.gradient_receptive_fields": "RA01",
    "vizkit.analysis.hidden_targets": "PR01 RT01",
    "vizkit.analysis.l2": "EX01 PR01 RT01",
    "vizkit.analysis.layer": "EX01 PR01 RT01",
    "vizkit.analysis.layer_activations": "PR01 RA01 RT01",
    "vizkit.analysis.linear_input_map": "EX01 PR01 RT01",
    "vizkit.analysis.mlp_field_layers": "PR01 RT01",
    "vizkit.analysis.neuron": "EX01 PR01 RT01",
    "vizkit.analysis.over_training.aligned_pca": "EX01 PR01",
    "vizkit.analysis.over_training.log_epochs": "EX01 PR01 RA01 RT01",
    "vizkit.analysis.over_training.over_training": "EX01 RA01",
    "vizkit.analysis.over_training.penultimate_features": "PR01 RT01",
    "vizkit.analysis.over_training.probe_indices": "PR01 RA01 RT01",
    "vizkit.analysis.perturbation_curves": "EX01 RA01",
    "vizkit.analysis.prediction_examples": "EX01",
    "vizkit.analysis.predictions": "EX01 RA01",
    "vizkit.analysis.propagated_receptive_fields": "RA01",
    "vizkit.analysis.random_order": "PR01 RT01",
    "vizkit.analysis.randomized_copy": "RT01",
    "vizkit.analysis.rank_correlation": "RA01",
    "vizkit.analysis.receptive_fields.conv_stages": "EX01 PR01 RT01",
    "vizkit.analysis.receptive_fields.field_views": "EX01",
    "vizkit.analysis.receptive_fields.ink_frequency": "RA01",
    "vizkit.analysis.receptive_fields.ink_ratio": "EX01 RA01",
    "vizkit.analysis.receptive_fields.ink_share": "EX01 PR01 RA01",
    "vizkit.analysis.receptive_fields.mlp_layers": "EX01 PR01 RT01",
    "vizkit.analysis.receptive_fields.structured_units": "EX01 PR01 RT01",
    "vizkit.analysis.theoretical_receptive_field": "RA01",
    "vizkit.analysis.total_variation": "EX01 RT01",
    "vizkit.analysis.unit": "EX01 PR01 RT01",
    "vizkit.analysis.weight_images": "RA01",
    "vizkit.analysis.worst_examples": "EX01",
    "vizkit.estimator.plot_search_scores": "EX01 PR01 RT01",
    "vizkit.figures.actmax.applies": "EX01 PR01 RT01",
    "vizkit.figures.actmax.figures": "EX01 PR01 RT01",
    "vizkit.figures.attributions.applies": "EX01 PR01 RT01",
    "vizkit.figures.attributions.example_indices": "EX01 PR01 RT01",
    "vizkit.figures.attributions.figures": "EX01 PR01 RT01",
    "vizkit.figures.bottleneck.applies": "EX01 PR01 RT01",
    "vizkit.figures.bottleneck.bottleneck_caption": "EX01 PR01 RT01",
    "vizkit.figures.bottleneck.figures": "EX01 PR01",
    "vizkit.figures.decision_surface.applies": "EX01 PR01 RT01",
    "vizkit.figures.decision_surface.figures": "EX01 PR01",
    "vizkit.figures.decision_surface.surface_caption": "EX01 PR01 RT01",
    "vizkit.figures.decision_surface.surface_data": "EX01 PR01",
    "vizkit.figures.embedding.applies": "EX01 PR01 RT01",
    "vizkit.figures.embedding.figures": "EX01 PR01 RA01",
    "vizkit.figures.errors.applies": "EX01 PR01",
    "vizkit.figures.errors.confusion_caption": "EX01 PR01 RT01",
    "vizkit.figures.errors.figures": "EX01 PR01",
    "vizkit.figures.errors.worst_caption": "EX01 PR01 RT01",
    "vizkit.figures.feature_maps.applies": "EX01 PR01 RT01",
    "vizkit.figures.feature_maps.figures": "EX01 PR01",
    "vizkit.figures.over_training.applies": "EX01 PR01 RT01",
    "vizkit.figures.over_training.figures": "EX01 PR01 RT01",
    "vizkit.figures.over_training.recorder": "EX01 RA01",
    "vizkit.figures.receptive_fields.applies": "EX01 PR01 RT01",
    "vizkit.figures.receptive_fields.figures": "EX01 PR01 RT01",
    "vizkit.figures.weights.applies": "EX01 PR01 RT01",
    "vizkit.figures.weights.figures": "EX01 PR01",
    "vizkit.lab.data.graph_surface": "PR01 RA01",
    "vizkit.plot.center_marker_sizes": "PR01 RA01 RT01",
    "vizkit.plot.class_legend": "EX01 PR01 RT01",
    "vizkit.plot.confidence_colorbar": "EX01 PR01 RT01",
    "vizkit.plot.decision_surface.region_image": "EX01 PR01 RA01",
    "vizkit.plot.graph_data": "EX01 RA01",
    "vizkit.plot.history_arrays": "EX01 PR01 RT01",
    "vizkit.plot.history_table": "EX01 PR01 RA01 RT01",
    "vizkit.plot.over_training.plot_change": "EX01 PR01 RT01",
    "vizkit.plot.over_training.plot_embeddings": "EX01 PR01 RT01",
    "vizkit.plot.over_training.plot_learning_curve": "EX01 PR01 RT01",
    "vizkit.plot.over_training.plot_snapshot_grid": "EX01 PR01",
    "vizkit.plot.over_training_figure": "EX01 PR01 RA01",
    "vizkit.plot.plot_actmax": "EX01 PR01 RA01",
    "vizkit.plot.plot_attribution": "EX01 RA01",
    "vizkit.plot.plot_attributions": "EX01 RA01",
    "vizkit.plot.plot_bottleneck": "EX01 RA01",
    "vizkit.plot.plot_confusion": "EX01 RA01",
    "vizkit.plot.plot_decision_regions": "EX01 RA01",
    "vizkit.plot.plot_embedding": "EX01 RA01",
    "vizkit.plot.plot_example_rows": "EX01 PR01",
    "vizkit.plot.plot_examples": "EX01 RA01",
    "vizkit.plot.plot_feature_maps": "EX01 RA01",
    "vizkit.plot.plot_field": "EX01",
    "vizkit.plot.plot_field_views": "EX01",
    "vizkit.plot.plot_filters": "EX01 RA01",
    "vizkit.plot.plot_learning_curves": "EX01 RA01",
    "vizkit.plot.plot_probability_bars": "EX01 PR01",
    "vizkit.plot.plot_receptive_field_box": "EX01 RA01",
    "vizkit.plot.plot_receptive_fields": "EX01 PR01 RA01",
    "vizkit.plot.plot_search_scores": "RA01",
    "vizkit.plot.plot_surface_frame": "EX01 RA01",
    "vizkit.plot.plot_weight_images": "PR01 RA01",
    "vizkit.plot.plot_weight_images_grid": "EX01 PR01 RA01",
    "vizkit.plot.points_legend": "EX01 PR01 RT01",
    "vizkit.plot.scatter_classes": "EX01 PR01 RT01",
    "vizkit.plot.surface_animation": "EX01 RA01",
}

OBJECTS = documented_objects()


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_docstring_validates(name):
    codes = errors(OBJECTS[name])
    if name in KNOWN_GAPS:
        assert codes, f"{name} passes now: remove it from KNOWN_GAPS"
        assert set(codes) <= set(KNOWN_GAPS[name].split()), (name, codes)
    else:
        assert not codes, (name, codes)


def test_known_gaps_name_documented_objects():
    assert set(KNOWN_GAPS) <= set(OBJECTS)


def test_the_checks_catch_what_they_promise():
    def undocumented(a, b):
        """Add.

        Parameters
        ----------
        a : int
            One.
        """
        if a < 0:
            raise ValueError("negative")
        return a + b

    undocumented.__module__, undocumented.__qualname__ = __name__, "undocumented"
    globals()["undocumented"] = undocumented
    try:
        assert errors(undocumented) == ["EX01", "PR01", "RA01", "RT01"]
    finally:
        del globals()["undocumented"]
