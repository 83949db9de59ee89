"""The benchmarks' one timing and peak-memory helper.

Clocks (:func:`wall_clock`, :func:`cpu_clock`, :func:`breakdown_clock`) synchronise CUDA before
reading, so that queued kernels are charged to the code that queued them. Timers:
:func:`repeat_times` / :func:`median_time` (one function, warm-up calls first) and
:func:`interleaved_times` (several variants run round-robin, one call of each per round, so that
load changes on a shared machine hit all of them alike; per-round ratios with their median and
spread). Peak memory: :func:`reset_peak_memory` / :func:`peak_memory_mb` (CUDA: the allocator's
peak; CPU: the process's peak resident set size, ``VmHWM``, which Linux resets on request).

The benchmarks run as ``python benchmarks/NAME.py`` (this folder is then on ``sys.path``) and
import it as ``from timing import ...``. ``device`` arguments are ``'cpu'``, ``'cuda'``,
``'cuda:N'``, a ``torch.device`` or None (CPU).
"""
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

Device = Any  # str, torch.device or None


def is_cuda(device: Device) -> bool:
    """Whether ``device`` names a CUDA device."""
    return device is not None and str(device).startswith('cuda')


def synchronize(device: Device = None) -> None:
    """Wait for the work queued on ``device`` (a no-op on CPU)."""
    if is_cuda(device):
        import torch
        torch.cuda.synchronize(device)


def wall_clock(device: Device = None) -> float:
    """``time.perf_counter()`` after synchronising ``device``."""
    synchronize(device)
    return time.perf_counter()


def cpu_clock() -> float:
    """CPU time of this process (all its threads), in seconds."""
    return time.process_time()


def breakdown_clock(device: Device = None) -> Callable[[], float]:
    """The clock for splitting work into parts: on CUDA the synchronised wall clock; on CPU the
    process's CPU time (robust to other jobs on a shared machine, but blind to time spent
    waiting, e.g. for data loader workers)."""
    if is_cuda(device):
        return lambda: wall_clock(device)
    return cpu_clock


def time_call(fn: Callable[[], Any], device: Device = None) -> float:
    """Wall seconds of one call of ``fn`` (``device`` synchronised before and after)."""
    start = wall_clock(device)
    fn()
    return wall_clock(device) - start


def repeat_times(fn: Callable[[], Any], repeats: int, device: Device = None,
                 warmup: int = 1) -> List[float]:
    """Wall seconds of ``repeats`` calls of ``fn``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    return [time_call(fn, device) for _ in range(repeats)]


def median_time(fn: Callable[[], Any], repeats: int, device: Device = None,
                warmup: int = 1) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    return statistics.median(repeat_times(fn, repeats, device, warmup))


@dataclass(frozen=True)
class Spread:
    """Median, minimum and maximum of some values (NaN for none)."""
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> 'Spread':
        values = list(values)
        if not values:
            nan = float('nan')
            return cls(nan, nan, nan)
        return cls(statistics.median(values), min(values), max(values))


def median_or_nan(values: Sequence[float]) -> float:
    """The median of ``values``, NaN when there are none."""
    return Spread.of(values).median


def interleaved_order(repeats: int, variants: Sequence[str]) -> List[str]:
    """``a b c c b a a b c ...``: ``repeats`` rounds of ``variants``, every other round
    reversed, so that each variant runs as often early in a round as late (for runs that are
    whole processes, where the order within a round may matter)."""
    order: List[str] = []
    for r in range(repeats):
        order += list(variants) if r % 2 == 0 else list(variants)[::-1]
    return order


@dataclass
class Interleaved:
    """What :func:`interleaved_times` measured: per variant, the seconds of each timed round
    and (when tracked, on CUDA) the peak allocated memory of its calls in MB."""
    times: Dict[str, List[float]]
    peaks_mb: Dict[str, float] = field(default_factory=dict)

    def spread(self, name: str) -> Spread:
        """Median and range of the variant's times."""
        return Spread.of(self.times[name])

    def ratios(self, num: str, den: str) -> List[float]:
        """Per round, the time of ``num`` over that of ``den``."""
        return [a / b for a, b in zip(self.times[num], self.times[den])]

    def ratio(self, num: str, den: str) -> Spread:
        """Median and range of the per-round ratios ``num / den``."""
        return Spread.of(self.ratios(num, den))


def interleaved_times(fns: Mapping[str, Callable[[], Any]], repeats: int,
                      device: Device = None, warmup: int = 1, track_peak: bool = False,
                      progress: Optional[Callable[[int, int], None]] = None) -> Interleaved:
    """Time several variants round-robin: each round calls every function of ``fns`` once, in
    order; the first ``warmup`` rounds are not recorded.

    Args:
        fns: ``{variant name: function}``.
        repeats: timed rounds.
        device: synchronised around every call.
        warmup: untimed rounds first.
        track_peak: on CUDA, record each variant's peak allocated memory over its calls
            (warm-up included); on CPU the process's peak cannot be split by variant (run each
            variant in its own process and use :func:`peak_memory_mb` there).
        progress: called as ``progress(round, rounds)`` after every round (0-based).
    """
    result = Interleaved({name: [] for name in fns})
    track = track_peak and is_cuda(device)
    rounds = warmup + repeats
    for index in range(rounds):
        for name, fn in fns.items():
            if track:
                reset_peak_memory(device)
            seconds = time_call(fn, device)
            if track:
                result.peaks_mb[name] = max(result.peaks_mb.get(name, 0.0),
                                            peak_memory_mb(device))
            if index >= warmup:
                result.times[name].append(seconds)
        if progress is not None:
            progress(index, rounds)
    return result


def reset_peak_memory(device: Device = None) -> bool:
    """Start a new peak-memory window: the CUDA allocator's peak, or on CPU the process's peak
    resident set size (Linux: writing 5 to ``/proc/self/clear_refs``). Returns False where the
    CPU peak cannot be reset (:func:`peak_memory_mb` then reports the peak since the process
    started)."""
    if is_cuda(device):
        import torch
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_memory_mb(device: Device = None) -> float:
    """Peak memory in MB (2**20 bytes) since the last :func:`reset_peak_memory` (or the process
    start): ``torch.cuda.max_memory_allocated`` on CUDA; on CPU ``VmHWM`` of
    ``/proc/self/status``, else ``ru_maxrss`` (never reset)."""
    if is_cuda(device):
        import torch
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == 'darwin' else peak / 1024
