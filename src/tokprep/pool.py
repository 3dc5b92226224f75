"""The one process pool tokprep runs work in: ordered results, bounded, and no hang on a crash.

`map_ordered(function, tasks, workers=N)` applies a module-level `function` to each task in N
worker processes and yields the results in task order. It reads `tasks` lazily and keeps at most
`window` of them (default `2 * workers`) in flight, so a streamed corpus never piles up in
memory. If a worker process dies (killed with `kill -9`, or by the out-of-memory killer), the
run stops at once with `WorkerDiedError`, naming the signal or exit code and what to do:
`multiprocessing.Pool` would instead start a new worker and wait forever for the lost task.
An exception raised by `function` reaches the caller with its own type and message. On Linux,
workers also die with the process that started them (a parent killed with `kill -9` would
otherwise leave them waiting forever for work).

    >>> from tokprep.pool import map_ordered
    >>> list(map_ordered(abs, [-3, 1, -2], workers=2))
    [3, 1, 2]

How workers start, and why it is safe without `if __name__ == "__main__":`:

- Linux: `fork`. Workers are copies of the calling process and import nothing, so a plain
  script that calls tokprep at top level, or a notebook, works as it is, and loaded tokenizers
  are shared instead of loaded again. (`spawn` and `forkserver` start each worker by importing
  the caller's `__main__` file again: a script without the guard runs its own top-level code in
  every worker, and the worker that reaches tokprep's pool again dies with "An attempt has been
  made to start a new process before the current process has finished its bootstrapping phase".
  That is what made the trainer's `spawn` pool fail on inputs over 4 MB in a plain script.)
  The usual caveat of `fork` holds: a lock held by another thread of the caller at that moment
  stays held in the worker; tokprep's workers take no locks of their own. (Python 3.12+ warns
  about forking a process that runs threads, for that reason.)
- macOS and Windows: `spawn` (`fork` is unsafe with macOS system libraries, and Windows has
  none). Notebooks work; a script must put its top-level work under
  `if __name__ == "__main__":`, as for any `multiprocessing` code there. Without it, the
  workers fail and `WorkerDiedError` says so.

`function`, `initializer` and their arguments must be defined at module level (picklable) for
`spawn`; with `fork` they are inherited.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tokprep.errors import WorkerDiedError, require_int

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["WorkerDiedError", "map_ordered", "start_method"]


def start_method() -> str:
    """The `multiprocessing` start method tokprep's pools use: `fork` on Linux, else `spawn`."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def map_ordered(
    function: Callable[[T], R],
    tasks: Iterable[T],
    *,
    workers: int,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    window: int | None = None,
    what: str = "tokprep",
) -> Iterator[R]:
    """Yield `function(task)` for each task, in order, computed in `workers` processes.

    - `initializer(*initargs)` runs once in each worker (e.g. to load a tokenizer there).
    - `window`: most tasks submitted and not yet yielded (default `2 * workers`).
    - `what`: names the work in error messages ("tokprep prepare").

    Raises `WorkerDiedError` promptly when a worker process dies. Close the generator (or use
    `contextlib.closing`) when stopping early: the pool shuts down when the generator ends.
    """
    workers = require_int("workers", workers, minimum=1)
    window = 2 * workers if window is None else require_int("window", window, minimum=1)
    method = start_method()
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )
    pending: collections.deque[Future[R]] = collections.deque()
    try:
        for task in tasks:
            pending.append(executor.submit(function, task))
            if len(pending) >= window:
                yield _result(pending.popleft(), executor, what, method)
        while pending:
            yield _result(pending.popleft(), executor, what, method)
    except BrokenProcessPool:  # raised by submit() once the pool is broken
        raise WorkerDiedError(_died_message(executor, what, method)) from None
    finally:
        # Queued tasks are dropped; a running one finishes (one chunk of work) unless the pool
        # is already broken, in which case its workers are gone.
        executor.shutdown(wait=True, cancel_futures=True)


def _start_worker(
    parent: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    if sys.platform.startswith("linux"):
        _die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def _die_with_parent(parent: int) -> None:
    # prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills this worker when its parent dies.
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _result(future: Future[R], executor: ProcessPoolExecutor, what: str, method: str) -> R:
    try:
        return future.result()
    except BrokenProcessPool:
        raise WorkerDiedError(_died_message(executor, what, method)) from None


def _died_message(executor: ProcessPoolExecutor, what: str, method: str) -> str:
    # The executor keeps its Process objects (a private attribute, read defensively); once it
    # has shut down, all are joined, and the dead one has an exit code other than the SIGTERM
    # that the executor sends the others when it breaks.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=True, cancel_futures=True)
    codes = [p.exitcode for p in processes if p.exitcode not in (None, -signal.SIGTERM)]
    if codes and codes[0] < 0:
        try:
            name = signal.Signals(-codes[0]).name
        except ValueError:
            name = f"signal {-codes[0]}"
        how = f"was killed by {name}"
        if codes[0] == -signal.SIGKILL:
            how += " (the out-of-memory killer sends SIGKILL when memory runs out)"
    elif codes:
        how = f"exited with code {codes[0]}"
    else:
        how = "stopped unexpectedly"
    message = (
        f"a worker process of {what} {how}, so the run was stopped and its outputs were not "
        "written (old files are left as they were). If memory ran out, use fewer workers or "
        "smaller chunks; otherwise run again with workers=1 to see the error in this process."
    )
    if method == "spawn":
        message += (
            " On macOS and Windows, workers start by importing your script: put its top-level "
            'code under `if __name__ == "__main__":`.'
        )
    return message
