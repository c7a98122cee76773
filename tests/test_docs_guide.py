"""The user guide's Python blocks run, in order, page by page (a page whose code fails fails)."""

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"
_BLOCK = re.compile(r"^\.\. code-block:: python\n((?:[ \t]*\n)*)((?:(?:   .*)?\n)+)", re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, dedented code) of each ``.. code-block:: python`` of a page."""
    blocks = []
    for m in _BLOCK.finditer(text):
        start = text.count("\n", 0, m.start(2)) + 1
        code = "\n".join(line[3:] for line in m.group(2).splitlines())
        blocks.append((start, code.rstrip() + "\n"))
    return blocks


PAGES = sorted(p.name for p in GUIDE.glob("*.rst") if python_blocks(p.read_text()))


def run_page(path: Path) -> dict:
    """Run a page's blocks in one namespace; line numbers in a traceback are the page's."""
    ns: dict = {"__name__": f"guide_{path.stem}"}
    for start, code in python_blocks(path.read_text()):
        exec(compile("\n" * (start - 1) + code, str(path), "exec"), ns)  # noqa: S102
    return ns


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_guide_page_code_runs(page, tmp_path, monkeypatch, pyplot):
    monkeypatch.chdir(tmp_path)  # whatever a page writes lands here
    run_page(GUIDE / page)


def test_the_pages_with_code_are_found():
    assert {"own_model.rst", "getting_started.rst", "errors.rst"} <= set(PAGES)
    own = python_blocks((GUIDE / "own_model.rst").read_text())
    assert len(own) >= 8 and any("resnet18" in code for _, code in own)


def test_a_failing_block_fails_with_the_page_line(tmp_path):
    page = tmp_path / "bad.rst"
    page.write_text("Title\n=====\n\n.. code-block:: python\n\n   x = 1\n\n"
                    ".. code-block:: bash\n\n   not python\n\n"
                    ".. code-block:: python\n\n   y = x + 1\n   raise RuntimeError(y)\n")
    assert [start for start, _ in python_blocks(page.read_text())] == [6, 14]
    with pytest.raises(RuntimeError, match="2") as info:
        run_page(page)
    assert info.traceback[-1].lineno + 1 == 15  # pytest counts lines from 0
