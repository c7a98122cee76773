"""A recipe's docstring reaches its page and its notebook only as sanitized HTML: no script, no
event handler, no style, no image, and links only to ``http(s):``, ``mailto:``, relative paths and
``#anchors``, however the scheme is spelled (case, entities, whitespace, reference links)."""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser

import pytest

from vizkit.gallery import build_gallery
from vizkit.gallery._downloads import notebook_bytes
from vizkit.gallery._html import _DOC_TAGS, docstring_html
from vizkit.gallery._runner import docstring

SAFE_SCHEMES = {"http", "https", "mailto"}


class _Tags(HTMLParser):
    """Every start tag with its attributes (values entity-decoded, as a browser reads them) and
    the text between tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text += data


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    return p


def _scheme(href: str) -> str | None:
    """The scheme a browser (WHATWG URL parser) reads in ``href``: leading/trailing controls and
    spaces stripped, tabs and newlines removed anywhere; None for a relative URL."""
    s = href.strip("".join(map(chr, range(0x21))))
    s = re.sub(r"[\t\n\r]", "", s)
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", s)
    return m.group(1).lower() if m else None


def _assert_safe(html: str) -> list[str]:
    """Check every tag and attribute of ``html``; return its links' targets."""
    hrefs = []
    for tag, attrs in _parse(html).tags:
        assert tag in _DOC_TAGS, f"tag <{tag}> reached the output: {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name}= in {html!r}"
            assert name not in ("style", "src", "srcset", "action", "formaction", "xlink:href")
            if name == "href":
                assert _scheme(value) in SAFE_SCHEMES | {None}, f"href {value!r} in {html!r}"
                hrefs.append(value)
    return hrefs


# (docstring, the link targets that must survive)
PROBES = [
    ("[x](javascript:alert(1))", []),
    ("[x](JaVaScRiPt:alert(1))", []),
    ("[x](jav&#x61;script:alert(1))", []),
    ("[x](&#x6A;avascript:alert(1))", []),
    ("[x](javascript&colon;alert(1))", []),
    ("[x](java&#09;script:alert(1))", []),
    ("[x](java&#x0A;script:alert(1))", []),
    ("[x](java\nscript:alert(1))", []),
    ("[x](java\tscript:alert(1))", ["java    script:alert(1)"]),  # Markdown's tab: a relative link
    ("[x](   javascript:alert(1))", []),
    ("[x](<javascript:alert(1)>)", []),
    ("[x](data:text/html,<script>alert(1)</script>)", []),
    ("[x](DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", []),
    ("[x](vbscript:msgbox(1))", []),
    ("[x](file:///etc/passwd)", []),
    ("[x][r1]\n\n[r1]: javascript:alert(1)", []),
    ("[x][r2]\n\n[r2]: JAVA&#x53;CRIPT:alert(1) \"title\"", []),
    ("[r3]\n\n[r3]: data:text/html,<b>x</b>", []),
    ("<javascript:alert(1)>", []),
    ('<a href="javascript:alert(1)">a</a>', []),
    ('<a href="https://example.org" onclick="alert(1)">a</a>', []),
    ("<img src=x onerror=alert(1)>", []),
    ("<script>alert(1)</script>", []),
    ("<iframe src=\"javascript:alert(1)\"></iframe>", []),
    ("<svg onload=alert(1)>", []),
    ("<style>body{display:none}</style>", []),
    ('<p style="position:fixed;top:0">x</p>', []),
    ("<form action=javascript:alert(1)><button>go</button></form>", []),
    ("![pixel](https://evil.example/track.png)", []),
    ('[x](https://example.org/" onmouseover="alert(1))',  # one attribute, no handler
     ['https://example.org/" onmouseover="alert(1']),
    ("[ok](https://example.org/a?b=1#c)", ["https://example.org/a?b=1#c"]),
    ("[plain](http://example.org)", ["http://example.org"]),
    ("[mail](mailto:someone@example.org)", ["mailto:someone@example.org"]),
    ("[sibling](../other_recipe/index.html)", ["../other_recipe/index.html"]),
    ("[here](figure.png)", ["figure.png"]),
    ("[top](#top)", ["#top"]),
    ("<https://example.org/x>", ["https://example.org/x"]),
    ("[ref][r4]\n\n[r4]: https://example.org/ref", ["https://example.org/ref"]),
]


@pytest.mark.parametrize("doc, expected", PROBES, ids=[f"probe{i}" for i in range(len(PROBES))])
def test_docstring_html_keeps_only_safe_links_and_tags(doc, expected):
    out = docstring_html(doc)
    assert _assert_safe(out) == expected


@pytest.mark.parametrize("doc, shown", [
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ('<a href="javascript:alert(1)">a</a>', '<a href="javascript:alert(1)">a</a>'),
    ("`<b>` and x < y & z", "<b> and x < y & z"),
])
def test_raw_html_in_a_docstring_is_shown_as_text(doc, shown):
    """Markdown's HTML passthrough is off: what looks like markup is text the reader sees."""
    assert _parse(docstring_html(doc)).text.strip() == shown


def test_markdown_still_renders():
    out = docstring_html("Shows **two** things:\n\n- ``fit`` with *care*\n- [docs](https://x.org)")
    assert "<strong>two</strong>" in out and "<li><code>fit</code> with <em>care</em></li>" in out
    assert '<a href="https://x.org" rel="noopener noreferrer">docs</a>' in out


# every probe in one docstring (but the tab: a docstring's tabs are expanded)
ALL_PROBES = "\n\n".join(doc for doc, _ in PROBES if "\t" not in doc)
ALL_HREFS = [h for doc, expected in PROBES if "\t" not in doc for h in expected]


def _probe_recipe() -> str:
    return f'"""{ALL_PROBES}\n"""\nORDER = 1\n' + textwrap.dedent('''

        def run(ctx):
            ctx.metric("n", 1)
        ''')


def test_notebook_first_cell_is_the_sanitized_docstring():
    import nbformat

    nb = nbformat.reads(notebook_bytes("probe", _probe_recipe()).decode(), as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert docstring(_probe_recipe()) == ALL_PROBES
    assert first.source == "# probe\n\n" + docstring_html(ALL_PROBES)
    assert _assert_safe(first.source) == ALL_HREFS
    for raw in ("](javascript:", "<script", "<img", "<iframe"):  # (raw HTML is only text)
        assert raw not in first.source


def test_built_page_and_notebook_carry_the_same_sanitized_docstring(tmp_path):
    import nbformat

    rdir = tmp_path / "recipes"
    rdir.mkdir()
    (rdir / "probe.py").write_text(_probe_recipe())
    out = tmp_path / "gallery"
    assert build_gallery(out, recipes_dir=rdir, cache_dir=tmp_path / "cache", data="mnist-5k",
                         verbose=False) == 0
    page = (out / "probe" / "index.html").read_text()
    safe = docstring_html(ALL_PROBES)
    assert f'<div class="doc">{safe}</div>' in page
    nb = nbformat.read(out / "probe" / "probe.ipynb", as_version=4)
    assert nb.cells[0].source == "# probe\n\n" + safe
    for tag, attrs in _parse(page).tags:  # nothing on the whole page runs or links elsewhere
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if "href" in attrs:
            assert _scheme(attrs["href"]) in SAFE_SCHEMES | {None}, attrs["href"]
