"""Checks that a local folder the command will write can be written, before any work starts.

A run that trains for minutes and then cannot write its reports, or a ``PermissionError``
traceback from ``os.makedirs``, helps nobody: every ``mlops`` command that writes checks its
output locations first and stops with exit 2 and one paragraph naming the path, the option or
key it came from and what to do. Object-store URIs (``s3://``, ``gs://``) are not checked here:
their writes fail with the storage layer's own message.
"""

from __future__ import annotations

import errno
import os
import tempfile


class UnwritableLocation(Exception):
    """A folder a command must write cannot be created or written (exit 2)."""


_WHY = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file of that name is in the way",
    errno.ENOSPC: "the disk is full",
}


def describe_os_error(exc: OSError) -> str:
    """``permission denied`` and the like: the plain reason of an OS error."""
    return _WHY.get(exc.errno, exc.strerror or type(exc).__name__)


def ensure_writable_dir(path: str, what: str, fix: str) -> None:
    """Creates ``path`` (and its parents) if needed and proves a file can be written in it.

    Args:
        path: A local folder (an object-store URI is left alone).
        what: What the folder is for and where it comes from, e.g. ``the run folder (--output-dir)``.
        fix: What to do instead, e.g. ``pass an --output-dir you can write``.

    Raises:
        UnwritableLocation: With one sentence naming the path, the reason and the fix.
    """
    if "://" in path:
        return
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".mlops-write-check-", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        why = describe_os_error(exc)
        if exc.errno in (errno.EACCES, errno.EPERM) and hasattr(os, "getuid"):
            why += f" for user {os.getuid()}"  # in a container, the image's user is often not the folder's owner
        raise UnwritableLocation(
            f"Cannot write {what}: {path} ({why}). "
            f"Choose another folder or make this one writable: {fix}."
        ) from None


def ensure_writable_parent(path: str, what: str, fix: str) -> None:
    """:func:`ensure_writable_dir` for the folder a file will be written into."""
    if "://" in path:
        return
    ensure_writable_dir(os.path.dirname(os.path.abspath(path)) or ".", what, fix)
