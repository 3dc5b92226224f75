"""One clock for the measurements: `perf_counter` on the CPU, CUDA events on a GPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def seconds(run: Callable[[], Any], device: str = "cpu") -> float:
    """How long `run()` takes. On CUDA the interval is read from two CUDA events recorded on
    the current stream before and after, so it covers every kernel `run` queued (the wait for
    the second event is the one synchronisation); elsewhere, wall-clock time."""
    if not device.startswith("cuda"):
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    import torch

    begin = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    begin.record()
    run()
    end.record()
    end.synchronize()
    return begin.elapsed_time(end) / 1000.0  # milliseconds -> seconds
