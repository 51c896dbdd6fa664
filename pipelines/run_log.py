"""Library output goes to ``<output-dir>/run.log``; the terminal gets progress and the summary.

TensorFlow, absl, Beam and the TFLite converter write from C++ as well as Python (``failed call
to cuInit`` on every CPU machine, ``All log messages before absl::InitializeLog()``...), so
Python logging filters cannot silence them. While a run is going, file descriptors 1 and 2 point
at the log file; progress lines are written to a duplicate of the terminal's stderr taken before.
With ``-v`` nothing is redirected.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator


@contextlib.contextmanager
def library_output_to(path: str) -> Iterator[Callable[[str], None]]:
    """Redirects fds 1 and 2 into ``path`` (appending); yields a function printing to the terminal."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    terminal_err = os.dup(2)
    saved_out = os.dup(1)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(terminal_err), "w", buffering=1)
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)

        def emit(line: str) -> None:
            terminal.write(line + "\n")
            terminal.flush()

        yield emit
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(terminal_err, 2)
        for fd in (saved_out, terminal_err, log_fd):
            os.close(fd)
        terminal.close()
