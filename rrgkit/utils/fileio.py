# Copyright (c) rrgkit contributors. All rights reserved.
"""Atomic file writes: a crash never leaves a half-written file behind."""
import contextlib
import json
import os
import tempfile
from typing import Any, BinaryIO, Callable, Union

__all__ = ['atomic_write', 'atomic_write_json']

PathLike = Union[str, os.PathLike]


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None],
                 durable: bool = True) -> str:
    """Write through ``write(file)`` into a temp file, then rename it.

    The temp file lives in the destination folder (so the rename is atomic),
    is flushed to disk first, gets the permissions a normal file would get,
    and is removed if anything fails; an existing file stays untouched until
    the new one is complete.

    Args:
        path (str | PathLike): Destination; parent folders are created.
        write (Callable): Writes the content into the binary file it gets.
        durable (bool): fsync the file before the rename, so that it
            survives a power loss too. False for caches, whose lost or cut
            entries are detected and rebuilt (the fsync would cost more
            than the entry). Defaults to True.

    Returns:
        str: The path written.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{os.path.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(obj: Any, path: PathLike) -> str:
    """Write ``obj`` as UTF-8 JSON (``indent=1``, non-ASCII kept), atomically.

    Args:
        obj (Any): A JSON-able object.
        path (str | PathLike): Destination.

    Returns:
        str: The path written.
    """
    data = (json.dumps(obj, ensure_ascii=False, indent=1) + '\n').encode()
    return atomic_write(path, lambda f: f.write(data))
