"""The ``Examples`` sections of vizkit's docstrings run as doctests, one test per module."""

import doctest
import importlib
import pkgutil

import pytest

import vizkit

MODULES = ["vizkit"] + sorted(m.name for m in pkgutil.walk_packages(vizkit.__path__, "vizkit.")
                              if not m.name.endswith("__main__"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _doctests(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, module.__name__) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, pyplot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    for test in _doctests(module):
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, "".join(report)


def test_the_doctests_are_found():
    # the finder looks where the examples are: a broken collection would pass vacuously
    counts = {name: sum(len(t.examples) for t in _doctests(importlib.import_module(name)))
              for name in ("vizkit.gallery._links", "vizkit.hooks._record", "vizkit.lab.pt_deep")}
    assert all(n > 0 for n in counts.values()), counts
    assert sum(len(t.examples) for name in MODULES
               for t in _doctests(importlib.import_module(name))) > 300


def test_a_failing_example_fails():
    def bad():
        """
        >>> 1 + 1
        3
        """

    test = doctest.DocTestFinder().find(bad, "bad")[0]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=lambda s: None)
    assert runner.summarize(verbose=False).failed == 1
