"""Atomic file writes: write beside the target, then rename over it (readers never see half a file)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: Path, *, mode: int | None = 0o644, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    The rename (``os.replace``) is atomic on POSIX, so readers see the old file or the
    new one, never a half-written one; on an exception the temporary file is removed.
    The temporary name keeps ``target``'s suffix (Keras insists on ``.keras``) and starts
    with a dot, so directory listings can ignore it.

    Args:
        target: the file to replace.
        mode: permission bits of the new file; None keeps ``mkstemp``'s 0600 (private data).
            The default 0644 suits artifacts meant to be shared.
        durable: flush the new file's contents to disk (``fsync``) before the rename, so a
            power cut cannot leave an empty file under ``target``'s name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if durable:
            descriptor = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path``'s contents with ``text`` (UTF-8) atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, payload: dict) -> None:
    """Replace ``path`` with ``payload`` as indented JSON (UTF-8, trailing newline) atomically."""
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
