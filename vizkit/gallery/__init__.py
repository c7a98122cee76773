"""The static report gallery: run the recipes, cache their models, write browsable HTML.

``vizkit gallery`` calls :func:`build_gallery`; each ``recipes/NAME.py`` has a ``run(ctx)``
over a :class:`RecipeContext` and can be run alone with :func:`run_recipe_main`.

Examples
--------
>>> from vizkit.gallery import build_gallery, list_recipes
>>> status = build_gallery("gallery", only="gmm_decision_surfaces")  # doctest: +SKIP
"""

from ._build import (MANIFEST_FORMAT, build_gallery, default_cache_dir, default_jobs,
                     default_recipes_dir, list_recipes, run_recipe_main)
from ._context import RecipeContext
from ._record import FigureRecord, RecipeRecord
from ._store import GalleryError
from .._io import png_bytes, safe_name, write_if_changed

__all__ = [
    "build_gallery", "list_recipes", "run_recipe_main", "RecipeContext", "default_cache_dir", "default_jobs",
    "default_recipes_dir", "MANIFEST_FORMAT", "safe_name", "png_bytes", "write_if_changed",
    "GalleryError", "RecipeRecord", "FigureRecord",
]
