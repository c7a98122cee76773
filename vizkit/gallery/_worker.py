"""``python -m vizkit.gallery._worker TASK.json RESULT.json``: run one recipe in its own process
(``vizkit gallery --jobs N``); the record goes to RESULT.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    task_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    task = json.loads(Path(task_path).read_text(encoding="utf-8"))
    from ._runner import run_recipe

    record = run_recipe(task)
    Path(result_path).write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
