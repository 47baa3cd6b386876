"""Peak memory of a notebook's execution: the Jupyter kernel that papermill starts and every
process the kernel starts in turn (the training workers of chapters 1 and 2), so that the book
knows which chapters fit in the memory Binder gives a reader (BINDER_MEMORY_MIB).

:class:`TreeSampler` watches, from a background thread, the processes descended from this process
that were started while it runs: the kernel is a child of the executing process; the process
itself, and the children it had already, are left out. On Linux it reads /proc directly:

* every INTERVAL_S: the tree (/proc/<pid>/task/<tid>/children) and each process's
  /proc/<pid>/status: VmRSS, and VmHWM, the peak resident size the kernel keeps for each
  process (exact, not sampled). About 0.1 ms per process.
* the proportional set size, PSS (/proc/<pid>/smaps_rollup, what psutil's memory_full_info
  reads): a page that n processes map counts 1/n in each, so the kernel and its workers are not
  double-counted. Reading it walks the process's page tables: 16 ms for a 500 MiB process,
  36-40 ms for 1-2 GiB on a busy 2-core machine. So it is read only when it could set a new
  peak: never while the RSS sum is below the peak so far (PSS <= RSS in every process);
  otherwise when the RSS sum less the pages counted twice at the last read is above the peak,
  or PSS_EVERY_S after the last read; and at most as often as keeps the reads under PSS_SHARE
  of one core. Between two reads, while the same processes run, the PSS sum is taken as the RSS
  sum less the pages counted twice at the last read: what a process allocates is its own.

Three numbers per execution: the peak PSS sum (the estimate of the tree's memory), the peak RSS
sum (an upper bound: shared pages counted in every process) and the largest VmHWM (the biggest
single process's own peak). Sampling misses a spike shorter than its interval; VmHWM keeps it,
as long as the process still runs at the next tick (a spike just before a process exits is
lost). A page shared with a process outside the tree (a library another Python maps too) counts
only in part, so the PSS sum is lower on a busy machine than alone, by up to half the shared
libraries (~50 MiB for a kernel with torch). Off Linux: RSS through psutil (when installed)
instead of PSS, and no VmHWM.
"""

from __future__ import annotations

import os
import sys
import threading
import time

BINDER_MEMORY_MIB = 2048  # the memory mybinder.org gives a reader (the book's Binder button)
INTERVAL_S = 0.25  # the tree and each process's RSS and VmHWM: cheap
PSS_SHARE = 0.1  # the PSS reads (page-table walks) take at most this share of one core
PSS_EVERY_S = 5.0  # ... and are read at least this often while the RSS sum allows a new peak
NEW_S = 0.5  # a process is counted from this age on (see age_s)
SLACK = 8 << 20  # VmRSS is a cached counter, a little behind the page tables: read PSS this early
MiB = 1 << 20
LINUX = sys.platform.startswith("linux") and os.path.exists(f"/proc/{os.getpid()}/status")
MEASURES = {
    "pss": "proportional set size (PSS: a page that several processes share is split among "
    "them, so that it counts once in the sum)",
    "rss": "resident set size (RSS: a page that several processes share counts in each, so "
    "that the sum overstates)",
}


# ----------------------------------------------------------------------------- reading /proc
def _children_of_tasks(pid: int) -> list[int]:
    """The direct children of `pid`: every thread's /proc/<pid>/task/<tid>/children."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def _children_by_scan() -> dict[int, list[int]]:
    """{pid: its children} from the parent pid in every /proc/<pid>/stat (kernels without
    the children files)."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(name))
    return kids


CHILDREN_FILES = LINUX and os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def children(pid: int) -> list[int]:
    if CHILDREN_FILES:
        return _children_of_tasks(pid)
    return _children_by_scan().get(pid, [])


def descendants(root: int, exclude: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """The processes descended from `root` (Linux), leaving out the subtrees of the children in
    `exclude`."""
    if CHILDREN_FILES:
        kids = _children_of_tasks
    else:
        table = _children_by_scan()

        def kids(pid: int) -> list[int]:
            return table.get(pid, [])

    found: list[int] = []
    todo = [c for c in kids(root) if c not in exclude]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += kids(pid)
    return found


def age_s(pid: int) -> float:
    """Seconds since a process started (/proc/<pid>/stat's starttime against /proc/uptime).

    The sampler counts a process from :data:`NEW_S` on: between ``vfork`` and ``exec`` (how
    Python starts a subprocess) a child shares its parent's memory, and /proc reports all of it
    as the child's as well; on a loaded machine that moment lasts long enough for a sample to
    count a 400 MiB parent twice. A process's first half second is not where a chapter's peak is.
    """
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    start_ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])  # field 22, starttime
    with open("/proc/uptime", "rb") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def status(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in bytes (0 for a zombie); OSError once it is gone."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmRSS:"):
                rss = int(line.split()[1]) << 10
            elif line.startswith(b"VmHWM:"):
                hwm = int(line.split()[1]) << 10
    return rss, hwm


def pss(pid: int) -> int:
    """The PSS of a process in bytes, from smaps_rollup (or smaps, which is slower, where the
    rollup is missing or refused); OSError once it is gone."""
    error: OSError | None = None
    for name in ("smaps_rollup", "smaps"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                return sum(int(line.split()[1]) for line in f if line.startswith(b"Pss:")) << 10
        except OSError as err:
            error = err
    raise error or OSError(pid)


# ----------------------------------------------------------------------------- the sampler
class TreeSampler:
    """``with TreeSampler() as mem: <start a kernel, run it, shut it down>``; then
    ``mem.peak_mib``, ``mem.hwm_mib``, ``mem.rss_mib``, ``mem.measure`` ("pss", "rss" off Linux,
    None where nothing can be measured) and ``mem.samples``: one (time.time(), RSS sum, PSS sum
    or None where not read, processes) per tick, in bytes."""

    def __init__(self, interval: float = INTERVAL_S, root: int | None = None):
        self.root = os.getpid() if root is None else root
        self.interval = interval
        self.measure = "pss" if LINUX else ("rss" if _psutil() else None)
        self.peak = self.rss_peak = self.hwm = 0  # bytes
        self.processes = 0  # the most processes seen at once
        self.samples: list[tuple[float, int, int | None, int]] = []
        self.ticks = self.pss_reads = 0
        self.cpu_s = 0.0  # what the sampling cost, in seconds of this thread's CPU
        self._exclude: set[int] = set()
        self._next_pss = self._last_pss = 0.0
        self._shared = 0  # RSS sum - PSS sum at the last PSS read: the pages counted twice
        self._shared_by: set[int] = set()  # ... by these processes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> TreeSampler:
        if self.measure is None:
            return self
        self._exclude = set(self._children(self.root))  # what ran before is not ours
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _children(self, pid: int) -> list[int]:
        if LINUX:
            return children(pid)
        psutil = _psutil()
        try:
            return [p.pid for p in psutil.Process(pid).children()]
        except psutil.Error:
            return []

    def _run(self) -> None:
        while True:
            start = time.perf_counter()
            cpu = time.thread_time()
            try:
                self._tick(start)
            except Exception as err:  # never let the measurement break an execution
                print(f"[book] memory sampling stopped: {type(err).__name__}: {err}", flush=True)
                return
            self.cpu_s += time.thread_time() - cpu
            if self._stop.wait(max(0.0, self.interval - (time.perf_counter() - start))):
                return

    def _tick(self, now: float) -> None:
        sizes, hwm = self._rss() if LINUX else self._rss_psutil()
        rss = sum(sizes.values())
        self.ticks += 1
        self.rss_peak = max(self.rss_peak, rss)
        self.hwm = max(self.hwm, hwm)
        self.processes = max(self.processes, len(sizes))
        total = None
        if self.measure == "rss":
            total = rss
        elif sizes and rss + SLACK > self.peak and now >= self._next_pss:
            # PSS <= RSS, so below the peak minus SLACK there is nothing to read; above it, read
            # when the RSS sum less the shared part seen at the last read could set a new peak,
            # or PSS_EVERY_S after the last read (what other processes share can change)
            if rss - self._shared > self.peak + MiB or now >= self._last_pss + PSS_EVERY_S:
                total = self._read_pss(sizes)
                self._shared, self._shared_by = max(0, rss - total), set(sizes)
        if total is not None:
            self.peak = max(self.peak, total)
        elif sizes and set(sizes) == self._shared_by:
            # no read (rate-limited or not needed): the same processes, whose pages counted twice
            # are those of the last read; what they allocated since then is their own
            self.peak = max(self.peak, rss - self._shared)
        self.samples.append((time.time(), rss, total, len(sizes)))

    def _read_pss(self, sizes: dict[int, int]) -> int:
        started = time.perf_counter()
        total = 0
        for pid in sizes:
            try:
                total += pss(pid)
            except OSError:  # gone since the tick began
                pass
        self.pss_reads += 1
        self._last_pss = started
        self._next_pss = started + (time.perf_counter() - started) / PSS_SHARE
        return total

    def _rss(self) -> tuple[dict[int, int], int]:
        sizes, hwm = {}, 0
        for pid in descendants(self.root, self._exclude):
            try:
                if age_s(pid) < NEW_S:  # perhaps still its parent's memory (vfork): not yet
                    continue
                sizes[pid], peak = status(pid)
            except OSError:
                continue
            hwm = max(hwm, peak)
        return sizes, hwm

    def _rss_psutil(self) -> tuple[dict[int, int], int]:
        psutil = _psutil()
        tree = []
        try:
            for child in psutil.Process(self.root).children():
                if child.pid not in self._exclude:
                    tree += [child, *child.children(recursive=True)]
        except psutil.Error:
            pass
        sizes = {}
        for p in tree:
            try:
                sizes[p.pid] = p.memory_info().rss
            except psutil.Error:
                continue
        return sizes, 0

    @property
    def peak_mib(self) -> int:
        return round(self.peak / MiB)

    @property
    def rss_mib(self) -> int:
        return round(self.rss_peak / MiB)

    @property
    def hwm_mib(self) -> int | None:
        return round(self.hwm / MiB) if LINUX else None

    def describe(self) -> str:
        if self.measure is None:
            return "memory not measured (no /proc and no psutil)"
        hwm = f", largest process {self.hwm_mib} MiB (VmHWM)" if LINUX else ""
        return (
            f"peak {self.peak_mib} MiB {self.measure.upper()} "
            f"(at most {self.processes} processes at once)"
            f"{hwm}; {self.ticks} samples every {self.interval} s, {self.pss_reads} PSS reads, "
            f"{self.cpu_s:.1f} s CPU"
        )

    def write_log(self, path) -> None:
        """The samples as a tab-separated table: time (Unix seconds), RSS sum, PSS sum, processes
        (MiB; PSS empty where it was not read)."""
        lines = ["time\trss_mib\tpss_mib\tprocesses"]
        lines += [
            f"{t:.3f}\t{rss / MiB:.1f}\t{'' if p is None else f'{p / MiB:.1f}'}\t{n}"
            for t, rss, p, n in self.samples
        ]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")


def _psutil():
    try:
        import psutil
    except ImportError:
        return None
    return psutil


# ----------------------------------------------------------------------------- timings.json
def record(timings: dict, nb: str, mem: TreeSampler) -> None:
    """Put what `mem` measured for `nb` into the timings (the dict of _build/timings.json) beside
    its seconds: memory_mib (the peak PSS sum), memory_hwm_mib, memory_rss_mib, memory_processes,
    and the measure and interval they share."""
    for key, value in (
        ("memory_mib", mem.peak_mib),
        ("memory_hwm_mib", mem.hwm_mib),
        ("memory_rss_mib", mem.rss_mib),
        ("memory_processes", mem.processes),
    ):
        if mem.measure is None:  # no number from an earlier execution stays beside the new time
            timings.get(key, {}).pop(nb, None)
        else:
            timings.setdefault(key, {})[nb] = value
    if mem.measure is None:
        return
    timings["memory_measure"] = mem.measure
    timings["memory_interval_s"] = mem.interval


def memory_over_limit(timings: dict, limit: int = BINDER_MEMORY_MIB) -> list[str]:
    """The chapters whose measured peak memory is above `limit` MiB (Binder's, by default), one
    line each; [] when every measured chapter fits (or nothing was measured)."""
    measure = timings.get("memory_measure", "pss").upper()
    interval = timings.get("memory_interval_s", INTERVAL_S)
    return [
        f"{nb}: peak memory {mib} MiB ({measure} of the kernel and its processes, sampled every "
        f"{interval} s) is above {limit} MiB, what Binder gives a reader"
        for nb, mib in timings.get("memory_mib", {}).items()
        if mib is not None and mib > limit
    ]
