"""Explain single predictions: every view of vizkit on one input, in one static page.

:func:`explain` computes (arrays only, no drawing) and :func:`write_explanation` writes the page
(one self-contained HTML file that opens from disk) and the arrays behind it (``.npz``).
"""

from ._compute import (DEFAULT_METHODS, Explanation, attribution_options, check_indices, explain, method_label,
                       penultimate_layer, select_inputs, unit_contributions)
from ._page import page_data, page_html, write_explanation

__all__ = ["DEFAULT_METHODS", "Explanation", "attribution_options", "check_indices", "explain", "method_label",
           "penultimate_layer", "select_inputs", "unit_contributions", "page_data", "page_html",
           "write_explanation"]
