"""``python -m vizkit.gallery._worker TASK.json RESULT.json PARENT_PID``: run one recipe in its own
process (``vizkit gallery --jobs N``); the record goes to RESULT.json.

The process stops within seconds of its parent's death (a killed ``vizkit gallery`` leaves no
recipe running and writing into its scratch folder): on Linux the kernel kills it at once
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``), and everywhere a watchdog thread ends it once its parent
process is no longer ``PARENT_PID``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1
#: Seconds between two looks of the watchdog at the parent.
WATCH_SECONDS = 1.0


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` (the pid that started it) dies."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below still works
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before the kernel was told
        os._exit(1)
    threading.Thread(target=watch, name="vizkit-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    task_path, result_path = args[:2]
    if len(args) > 2:
        die_with_parent(int(args[2]))
    task = json.loads(Path(task_path).read_text(encoding="utf-8"))
    from ._runner import run_recipe

    record = run_recipe(task)
    Path(result_path).write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
