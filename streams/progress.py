"""A live progress line on stderr for the long offline commands (train, eval, build-static,
bench): what is running, the current phase and the time spent, refreshed every second.

Shown only when stderr is a terminal (a log file or a pipe gets the plain messages). The steps
inside the model code report nothing, so the line shows elapsed time and the last phase message
rather than a percentage.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from tqdm import tqdm


class Progress:
    """Handle of a running progress line: :meth:`phase` names the step now running."""

    def __init__(self, bar: tqdm, stream: IO[str]) -> None:
        self._bar = bar
        self._stream = stream

    @property
    def shown(self) -> bool:
        return not self._bar.disable

    def phase(self, text: str) -> None:
        """Show ``text`` as the current step (and keep it in the scrollback)."""
        if self.shown:
            self._bar.write(text, file=self._stream)
            self._bar.set_postfix_str(text.strip()[:60], refresh=True)
        else:
            print(text, file=self._stream, flush=True)


@contextmanager
def progress(desc: str, stream: IO[str] | None = None,
             enabled: bool | None = None) -> Iterator[Progress]:
    """A progress line for ``desc`` while the block runs (``enabled``: None = stream is a tty)."""
    out = stream if stream is not None else sys.stderr
    show = out.isatty() if enabled is None else enabled
    bar = tqdm(total=None, desc=desc, file=out, disable=not show, leave=True,
               bar_format="{desc}: {elapsed} elapsed{postfix}", dynamic_ncols=True)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            bar.refresh()

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    if not bar.disable:
        ticker.start()
    try:
        yield Progress(bar, out)
    finally:
        stop.set()
        if ticker.is_alive():
            ticker.join(timeout=2)
        bar.close()
