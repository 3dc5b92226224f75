"""Where tokprep's parallel work runs: one interface, three engines.

`prepare` and `train` cut their input into numbered *tasks* by a pure plan (byte ranges of the
input files, never a function of how many workers there are), hand them to an `Executor`, and
combine the results in task order. So the output is the same whichever engine ran the tasks:

- `local` (the default): a process pool on this machine (`tokprep.pool.map_ordered`), or this
  process alone with one worker;
- `tasks`: this process runs only its share of the tasks (task `i` belongs to rank
  `i % world_size`), from `--rank/--world-size` or a Slurm array's environment
  (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_MIN`), and leaves its
  results on disk; `tokprep merge OUTPUT` combines them once every rank has run. Any scheduler
  that can start `W` copies of one command with different ranks can run it;
- `ray`: Ray core tasks (the `ray` extra), on a local Ray started for the run or on the cluster
  at `ray_address`. Ray Data is not used: it keeps no order by default and costs more memory.

    >>> from tokprep.executors import get_executor
    >>> list(get_executor("local", workers=1).map(abs, [-3, 1, -2]))
    [3, 1, 2]
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

from tokprep.errors import ArgumentValueError, require_int

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "tasks", "ray")

# (initializer, initargs): what each worker process runs once before its first task.
_Setup = tuple[Callable[..., object] | None, tuple[Any, ...]]

__all__ = [
    "ENGINES",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "TasksExecutor",
    "get_executor",
    "rank_from_environment",
]


@runtime_checkable
class Executor(Protocol):
    """Runs a module-level function over tasks and yields the results in task order.

    `initializer(*initargs)` runs once in each process before its first task (to load a
    tokenizer there). `owns(i)` says whether this process runs task `i` at all: `False` for
    the other ranks' tasks under the `tasks` engine, whose results are then simply absent
    (`map` yields results for owned tasks only, in order).
    """

    name: str
    workers: int

    def owns(self, index: int) -> bool: ...

    def map(
        self,
        function: Callable[[T], R],
        tasks: Iterable[T],
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        what: str = "tokprep",
    ) -> Iterator[R]: ...


class _OrderedEngine(ABC):
    """What the engines share: `map` keeps the tasks this process owns (all of them, unless
    `owns` says otherwise) and hands them to the engine's `_run`, which yields in order."""

    workers: int

    def owns(self, index: int) -> bool:
        return True

    def map(
        self,
        function: Callable[[T], R],
        tasks: Iterable[T],
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        what: str = "tokprep",
    ) -> Iterator[R]:
        mine = (task for index, task in enumerate(tasks) if self.owns(index))
        return self._run(function, mine, (initializer, initargs), what)

    @abstractmethod
    def _run(
        self, function: Callable[[T], R], tasks: Iterator[T], setup: _Setup, what: str
    ) -> Iterator[R]:
        """Run `function` on `tasks` with `setup` = (initializer, initargs); yield in order."""


class LocalExecutor(_OrderedEngine):
    """A process pool of `workers` on this machine; with one worker, this process itself."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = require_int("workers", workers, minimum=1, hint="Use 1 for one process.")

    def _run(
        self, function: Callable[[T], R], tasks: Iterator[T], setup: _Setup, what: str
    ) -> Iterator[R]:
        initializer, initargs = setup
        if self.workers == 1:
            return _serial(function, tasks, initializer, initargs)
        from tokprep.pool import map_ordered

        return map_ordered(
            function,
            tasks,
            workers=self.workers,
            initializer=initializer,
            initargs=initargs,
            what=what,
        )


def _serial(
    function: Callable[[T], R],
    tasks: Iterable[T],
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
) -> Iterator[R]:
    if initializer is not None:
        initializer(*initargs)
    for task in tasks:
        yield function(task)


class TasksExecutor(LocalExecutor):
    """Task `rank` of `world_size`: runs tasks `rank, rank + world_size, ...` with a local pool
    of `workers`; the others belong to other ranks, run by the same command elsewhere."""

    name = "tasks"

    def __init__(self, rank: int, world_size: int, workers: int = 1) -> None:
        super().__init__(workers)
        self.world_size = require_int("world_size", world_size, minimum=1)
        self.rank = require_int("rank", rank, minimum=0)
        if self.rank >= self.world_size:
            raise ArgumentValueError(
                f"rank={rank} is not below world_size={world_size}; ranks are "
                f"0..{self.world_size - 1}."
            )

    def owns(self, index: int) -> bool:
        return index % self.world_size == self.rank


class RayExecutor(_OrderedEngine):
    """Ray core tasks: each task is one `ray.remote` call, at most `2 * workers` in flight,
    results fetched in order. `address=None` starts a local Ray (loopback only, no dashboard)
    with `workers` CPUs and shuts it down after the run; an address joins that cluster."""

    name = "ray"

    def __init__(self, workers: int = 1, address: str | None = None) -> None:
        self.workers = require_int("workers", workers, minimum=1)
        self.address = address

    def _run(
        self, function: Callable[[T], R], tasks: Iterator[T], setup: _Setup, what: str
    ) -> Iterator[R]:
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers,
                    _node_ip_address="127.0.0.1",
                    include_dashboard=False,
                    log_to_driver=False,
                )
        try:
            window = 2 * (self.workers if not self.address else _cluster_cpus(ray))
            remote = ray.remote(_ray_call)
            shared = ray.put((os.urandom(8).hex(), *setup))
            pending: list[Any] = []
            for task in tasks:
                pending.append(remote.remote(shared, function, task))
                if len(pending) >= window:
                    yield ray.get(pending.pop(0))
            while pending:
                yield ray.get(pending.pop(0))
        finally:
            if started:
                ray.shutdown()


_RAY_READY: set[str] = set()


def _ray_call(setup: tuple[str, Any, tuple[Any, ...]], function: Any, task: Any) -> Any:
    # Ray reuses worker processes: the initializer runs once per process and run.
    key, initializer, initargs = setup
    if initializer is not None and key not in _RAY_READY:
        initializer(*initargs)
        _RAY_READY.add(key)
    return function(task)


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def import_ray() -> Any:
    """`import ray`, or an error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ArgumentValueError(
            "engine='ray' needs Ray, which is not installed: pip install 'tokprep[ray]' (or "
            "pip install ray). Without Ray, use engine='local' or engine='tasks'."
        ) from None
    return ray


def rank_from_environment(environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """`(rank, world_size)` from a Slurm job array's environment, or None outside one.

    Slurm numbers array tasks from `SLURM_ARRAY_TASK_MIN` (`--array=1-8` starts at 1), so the
    rank is `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN`; `SLURM_ARRAY_TASK_COUNT` is the
    world size.
    """
    env = os.environ if environ is None else environ
    if "SLURM_ARRAY_TASK_ID" not in env or "SLURM_ARRAY_TASK_COUNT" not in env:
        return None
    try:
        task = int(env["SLURM_ARRAY_TASK_ID"])
        count = int(env["SLURM_ARRAY_TASK_COUNT"])
        first = int(env.get("SLURM_ARRAY_TASK_MIN", "0"))
    except ValueError:
        raise ArgumentValueError(
            "the Slurm array variables SLURM_ARRAY_TASK_ID/COUNT/MIN are not integers "
            f"({env.get('SLURM_ARRAY_TASK_ID')!r}, {env.get('SLURM_ARRAY_TASK_COUNT')!r}, "
            f"{env.get('SLURM_ARRAY_TASK_MIN')!r}); pass --rank and --world-size instead."
        ) from None
    return task - first, count


def get_executor(
    engine: str = "local",
    *,
    workers: int = 1,
    rank: int | None = None,
    world_size: int | None = None,
    ray_address: str | None = None,
) -> Executor:
    """The executor for `engine` ("local", "tasks" or "ray").

    `tasks` takes `rank`/`world_size`, or, when both are None, a Slurm array's environment.
    """
    if not isinstance(engine, str):
        raise TypeError(f"engine must be a str, got {type(engine).__name__}")
    if engine not in ENGINES:
        raise ArgumentValueError(
            f"engine={engine!r} is not one of {', '.join(ENGINES)}: 'local' runs a process "
            "pool here, 'tasks' runs one rank of several, 'ray' runs on Ray."
        )
    if engine != "tasks" and (rank is not None or world_size is not None):
        raise ArgumentValueError(f"rank/world_size are for engine='tasks', not engine={engine!r}.")
    if engine == "local":
        return LocalExecutor(workers)
    if engine == "ray":
        return RayExecutor(workers, ray_address)
    if rank is None and world_size is None:
        found = rank_from_environment()
        if found is None:
            raise ArgumentValueError(
                "engine='tasks' needs rank and world_size (--rank R --world-size W), or a "
                "Slurm job array's environment (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT)."
            )
        rank, world_size = found
    if rank is None or world_size is None:
        raise ArgumentValueError("engine='tasks' needs both rank and world_size.")
    return TasksExecutor(rank, world_size, workers)
