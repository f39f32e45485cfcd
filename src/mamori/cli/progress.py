"""Progress for long work, on stderr and only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


@dataclass
class LayerBar:
    progress: Progress | None
    task: TaskID | None = None
    downloads: dict[str, TaskID] = field(default_factory=dict)

    def downloaded(self, digest: str, done: int, total: int) -> None:
        """Byte progress of one blob download (called from the download threads)."""
        if self.progress is None:
            return
        task = self.downloads.get(digest)
        if task is None:
            task = self.progress.add_task(f"pull {digest[7:19]}", total=total or None)
            self.downloads[digest] = task
        self.progress.update(task, completed=done)

    def opened(self, layers: int) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task("layers", total=layers)

    def layer_done(self, number: int, total: int, cached: bool) -> None:
        if self.progress is not None and self.task is not None:
            note = "cached" if cached else "analysed"
            self.progress.update(
                self.task, completed=number, description=f"layer {number}/{total} {note}"
            )


@contextmanager
def layer_progress(enabled: bool) -> Iterator[LayerBar]:
    if not enabled or not sys.stderr.isatty():
        yield LayerBar(None)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield LayerBar(progress)
