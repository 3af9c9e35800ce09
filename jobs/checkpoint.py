"""Where a bulk job stopped: the last committed byte offset per input file, in one JSON file.

Every save writes a temporary file beside the checkpoint, fsyncs it and renames it over the old one,
so a crash leaves either the previous checkpoint or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class Checkpoint:
    """``offset(source)`` to resume from; ``commit(source, offset, n)`` once the work before it is done."""

    def __init__(self, path: Path | str, job: str = "job"):
        self.path = Path(path)
        self.job = job
        self.data: dict[str, Any] = {"job": job, "offsets": {}, "committed": 0, "saves": 0}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())

    def offset(self, source: str) -> int:
        return int(self.data["offsets"].get(source, 0))

    @property
    def committed(self) -> int:
        return int(self.data.get("committed", 0))

    def commit(self, source: str, offset: int, done: int = 0) -> None:
        self.data["offsets"][source] = int(offset)
        self.data["committed"] = self.committed + done
        self.data["saves"] = int(self.data.get("saves", 0)) + 1
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.data, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a power cut
        finally:
            os.close(dir_fd)
