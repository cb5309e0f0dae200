"""FIFOs with a writer behind them, for the tests that the readers refuse pipes (a
plain helper module, not a test module).

The writer is a child process that opens the FIFO again and again and writes the
whole file each time a reader opens it, until it is killed: whatever a reader
does (even a reader that opens the FIFO twice, as the readers once did), it never
waits forever, so a regression fails a test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_WRITER = r"""
import sys
path, data = sys.argv[1], open(sys.argv[2], "rb").read()
while True:
    try:
        with open(path, "wb") as fh:  # blocks until a reader opens the FIFO
            fh.write(data)
    except BrokenPipeError:  # the reader stopped reading: wait for the next one
        pass
"""


@contextmanager
def fifo_with_writer(folder: Path, name: str, data: bytes) -> Iterator[Path]:
    """A FIFO ``folder/name`` whose writer serves ``data`` to every reader."""
    source = folder / f"{name}.source"
    source.write_bytes(data)
    fifo = folder / name
    os.mkfifo(fifo)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(fifo), str(source)])
    try:
        yield fifo
    finally:
        writer.kill()
        writer.wait(timeout=30)
