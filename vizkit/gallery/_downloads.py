"""What a page offers to download, as deterministic bytes: the recipe as a Jupyter notebook, all
recipes as one zip, and the recipe's thumbnail.
"""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

__all__ = ["notebook_bytes", "recipes_zip", "thumbnail_bytes", "choose_thumbnail"]

_RUN_CELL = '''# Run the recipe here: figures are saved under {name}-figures/ and shown below.
from IPython.display import Image, display
from vizkit.gallery import RecipeContext

ctx = RecipeContext.standalone("{name}", out="{name}-figures")
run(ctx)
for f in ctx.figures_:
    display(Image(filename=f"{name}-figures/{{f['id']}}.{{f.get('ext', 'png')}}"))
print(ctx.metrics_)'''


def _cells(source: str) -> list[str]:
    """The recipe's code as notebook cells: consecutive imports and constants together, each
    function on its own; the docstring and the ``if __name__ == "__main__"`` block left out."""
    tree = ast.parse(source)
    lines = source.splitlines()
    cells, current = [], []
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            if current:
                cells.append("\n".join(current))
                current = []
            cells.append(text)
        else:
            current.append(text)
    if current:
        cells.append("\n".join(current))
    return cells


def notebook_bytes(name: str, source: str) -> bytes:
    """The recipe as a valid nbformat 4 notebook: its docstring as text, its code as cells, and a
    last cell that runs it (with vizkit installed, the notebook runs top to bottom).

    The first (Markdown) cell holds the docstring as the page shows it, rendered and sanitized by
    :func:`vizkit.gallery._html.docstring_html`: Jupyter renders a Markdown cell's HTML, so the
    raw docstring would carry its links and markup into the reader's notebook.
    """
    import nbformat
    from nbformat import v4

    from ._html import docstring_html

    doc = ast.get_docstring(ast.parse(source)) or ""
    nb = v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    cells = [v4.new_markdown_cell(f"# {name}\n\n" + docstring_html(doc))]
    cells += [v4.new_code_cell(c) for c in _cells(source)]
    cells.append(v4.new_code_cell(_RUN_CELL.format(name=name)))
    for i, cell in enumerate(cells):  # stable ids: the same recipe gives the same bytes
        cell["id"] = f"{name[:50]}-{i}"
    nb.cells = cells
    nbformat.validate(nb)
    return (nbformat.writes(nb) + "\n").encode()


def recipes_zip(paths: list[Path]) -> bytes:
    """A zip of the recipes' sources (``recipes/<name>.py``) with fixed dates: same sources,
    same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(paths, key=lambda p: p.name):
            info = zipfile.ZipInfo(f"recipes/{p.name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def choose_thumbnail(figures) -> str | None:
    """The figure whose shape is closest to the thumbnail's 4:3 (the first among equals)."""
    import math

    best, score = None, math.inf
    for f in figures:
        s = abs(math.log((f.width / f.height) / (4 / 3)))
        if s < score - 1e-9:
            best, score = f.id, s
    return best


def thumbnail_bytes(png: bytes, size: tuple[int, int] = (480, 360)) -> bytes:
    """A JPEG of the PNG fitted into ``size`` on white (deterministic, a few tens of KB)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        im = im.convert("RGB")
        im.thumbnail(size, Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", size, "white")
        canvas.paste(im, ((size[0] - im.width) // 2, (size[1] - im.height) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=85, optimize=True)
    return buf.getvalue()
