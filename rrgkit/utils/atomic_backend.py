# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine's local file backend, with every write made atomic.

mmengine 0.10.7 saves a checkpoint by serialising it to memory and then
calling ``LocalBackend.put``, which opens the destination with ``'wb'`` and
writes into it. A crash, a SIGKILL or a full disk in the middle leaves a
truncated file under the final name; when the same name is saved again (the
checkpoint re-saved after a new best score), the previous good copy is
destroyed first.

Importing :mod:`rrgkit` registers :class:`AtomicLocalBackend` as mmengine's
``'local'`` backend (mmengine's own extension point, ``register_backend``),
so every local ``put``/``put_text`` goes through
:func:`rrgkit.utils.fileio.atomic_write`: a temp file in the same folder,
fsync, then ``os.replace``. This covers all checkpoints (periodic, best,
published), and anything else mmengine dumps to local files, without a
config change. The order of saving and deleting old checkpoints and the
``last_checkpoint`` pointer are the checkpoint hook's job:
see :class:`rrgkit.engine.hooks.AtomicCheckpointHook`.
"""
from pathlib import Path
from typing import Union

import mmengine.fileio.io as mmengine_io
from mmengine.fileio import LocalBackend, register_backend

from .fileio import atomic_write

__all__ = ['AtomicLocalBackend']


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` whose writes are atomic."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (folders are created).

        Args:
            obj (bytes): Data to write.
            filepath (str | Path): Destination.
        """
        atomic_write(filepath, lambda f: f.write(obj))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (folders are created).

        Args:
            obj (str): Text to write.
            filepath (str | Path): Destination.
            encoding (str): Text encoding. Defaults to ``'utf-8'``.
        """
        data = obj.encode(encoding)
        atomic_write(filepath, lambda f: f.write(data))


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
# get_file_backend caches instances; drop local ones made before this import.
for _key, _backend in list(mmengine_io.backend_instances.items()):
    if type(_backend) is LocalBackend:
        del mmengine_io.backend_instances[_key]
