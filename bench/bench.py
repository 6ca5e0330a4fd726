"""Benchmark: grading lab submissions with this grader, against a fresh Jupyter kernel per
submission (nbclient) and `otter run` where it is installed. Prints figures, asserts nothing.

    make bench                 # N=200
    make bench N=400 KERNELS=20
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil

from autograder.batch import default_jobs

ROOT = Path(__file__).resolve().parent.parent
SLUG = "lec27_attention"
MIX = ["correct", "correct", "softmax_wrong_dim", "no_sqrt_scaling", "mask_after_softmax",
       "view_without_transpose", "concat_wrong_dim", "unfinished"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="submissions in the main run")
    parser.add_argument("--kernels", type=int, default=16, help="submissions run through fresh Jupyter kernels")
    parser.add_argument("--otter", type=int, default=4, help="submissions graded with `otter run`")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="for this grader and the kernels alike")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> None:
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; jobs={args.jobs}\n")
    import_torch = median_seconds([sys.executable, "-c", "import torch"], 3)
    print(f"fresh `python -c \"import torch\"`: {import_torch * 1000:.0f} ms (median of 3)\n")

    pool = make_submissions(work / "pool", 400)
    main = subset(pool, args.n, work / f"n{args.n}")
    ours = grade(main, work / "out-main", args.jobs)
    kernel = run_kernels(subset(pool, args.kernels, work / "kernels"), args.jobs)
    otter = run_otter(subset(pool, args.otter, work / "otter"), work / "otter-out", args.jobs)

    print("                        submissions/s   median     p95    peak memory per worker   whole run")
    print(f"(a) this grader             {ours['rate']:7.1f}  {ours['median'] * 1000:6.0f} ms {ours['p95'] * 1000:5.0f} ms"
          f"   {mb(ours['worker_peak'])} (max {mb(ours['worker_max'])})        {mb(ours['whole'])}")
    print(f"(b) fresh kernel, nbclient  {kernel['rate']:7.2f}  {kernel['median'] * 1000:6.0f} ms {kernel['p95'] * 1000:5.0f} ms"
          f"   {mb(kernel['worker_peak'])} (kernel RSS)        {mb(kernel['whole'])}")
    if otter:
        print(f"(c) otter run (this export) {otter['rate']:7.2f}  {otter['median'] * 1000:6.0f} ms {otter['p95'] * 1000:5.0f} ms"
              f"   (kernel RSS not sampled)             -")
    else:
        print("(c) otter run               not measured: otter-grader is not installed here")
    print(f"\n(a) on {args.n} submissions ({ours['wall']:.1f} s wall: {ours['startup']:.1f} s until the first result, "
          f"{ours['wall'] - ours['startup'] - ours['shutdown']:.1f} s from the first to the last, {ours['shutdown']:.1f} s "
          f"to finish; submissions/s counts the middle part); "
          f"(b) on {args.kernels}, executing the notebook only (no tests), {args.jobs} at a time; "
          f"(c) on {args.otter}, {args.jobs} at a time (Otter executes the notebook in a kernel, then its "
          f"test cases ask this grader).")
    second = ours["second"]
    print(f"\nboth runs included: the first run of every submission takes {second['first_median'] * 1000:.0f} ms "
          f"(median latency); the second run on varied lesson data was needed by {second['count']} of {args.n} "
          f"(those whose step-by-step answers passed the first) and took {second['median'] * 1000:.0f} ms (median), "
          f"{second['share']:.0%} of the batch's worker time")
    per_submission = 1 / ours["rate"]
    print(f"\nper submission in a batch: {per_submission * 1000:.1f} ms = 1/{import_torch / per_submission:.0f} "
          f"of a fresh `import torch` (target: at most 1/20)")
    print(f"throughput: {ours['rate'] / kernel['rate']:.1f}x a fresh Jupyter kernel per submission (target: at least 50x); "
          f"counting start-up and shut-down, {args.n / ours['wall']:.1f}/s = {args.n / ours['wall'] / kernel['rate']:.1f}x")

    if ours["cpu"] is not None:
        print(f"CPU time over every process of the batch (grader, fork server, workers, their exits): "
              f"{ours['cpu'] / args.n * 1000:.1f} ms per submission, start-up included")

    print("\ngrowth with batch size (this grader):")
    sizes, walls, cpus = [50, 100, 200, 400], [], []
    for size in sizes:
        result = grade(subset(pool, size, work / f"grow{size}"), work / f"out-grow{size}", args.jobs)
        walls.append(result["wall"])
        cpus.append(result["cpu"])
        print(f"  N={size:4d}: {result['wall']:6.2f} s   {result['wall'] / size * 1000:5.1f} ms per submission "
              f"(incl. start-up)   grader RSS {mb(result['grader_first'])} -> {mb(result['grader_last'])}, "
              f"worker peak first/last quarter {mb(result['peak_first'])} / {mb(result['peak_last'])}")
    slope, intercept, r2 = fit(sizes, walls)
    print(f"  linear fit: {intercept:.2f} s + {slope * 1000:.1f} ms x N  (R^2 = {r2:.4f}): each more submission costs "
          f"{slope * 1000:.1f} ms, {1 / slope:.1f}/s = {1 / slope / kernel['rate']:.1f}x the fresh kernel")
    if None not in cpus:
        cpu_slope, cpu_intercept, cpu_r2 = fit(sizes, cpus)
        print(f"  CPU over every process: {cpu_intercept:.2f} s + {cpu_slope * 1000:.1f} ms x N (R^2 = {cpu_r2:.4f}): "
              f"each more submission costs {cpu_slope * 1000:.1f} ms of CPU on {os.cpu_count()} cores")


def median_seconds(command: list[str], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def make_submissions(folder: Path, count: int) -> list[Path]:
    """`count` distinct notebooks cycling through correct, wrong and unfinished samples."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        nb = nbformat.read(ROOT / "samples" / SLUG / f"{MIX[index % len(MIX)]}.ipynb", 4)
        answer = next(c for c in nb.cells if c.get("id") == "dot-loop")
        answer.source += f"\n# submission {index}"  # every file differs, so nothing is reused
        path = folder / f"student{index:04d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def subset(pool: list[Path], count: int, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for path in pool[:count]:
        os.link(path, folder / path.name)
    return folder


def grade(folder: Path, out: Path, jobs: int) -> dict:
    """Run `autograder grade` as a user would; sample the grader's memory while it runs."""
    command = [sys.executable, "-m", "autograder", "--root", str(ROOT), "grade", SLUG, str(folder),
               "--out", str(out), "--jobs", str(jobs)]
    started, started_at = time.perf_counter(), time.time()
    with cpu_account() as account:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=account.join)
        samples = sample_memory(process)
        stderr = process.communicate()[1]
        cpu = account.seconds()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"grading failed:\n{stderr}")
    records = sorted((json.loads(p.read_text()) for p in out.glob("*/record.json")), key=lambda r: r["submission"])
    seconds = [r["seconds"] for r in records]
    seconds_second = [r["second_run_seconds"] for r in records if r.get("second_run_seconds") is not None]
    peaks = [r["peak_memory"] or 0 for r in records]
    quarter = max(1, len(records) // 4)
    n = len(records)
    # The batch in its steady state: from the first result written to the last. Start-up (imports,
    # reference values, fork server) and shut-down are paid once per batch and reported apart.
    done = sorted(p.stat().st_mtime for p in out.glob("*/record.json"))
    def grader_at(share: float) -> int:
        """The grader's resident memory `share` of the way from the first result to the last."""
        moment = done[0] + share * (done[-1] - done[0])
        return min(samples, key=lambda s: abs(s["at"] - moment))["grader"] if samples else 0

    return {
        "cpu": cpu, "wall": wall, "startup": done[0] - started_at, "shutdown": started_at + wall - done[-1],
        "rate": (n - 1) / max(done[-1] - done[0], 1e-9),
        "median": statistics.median(seconds), "p95": percentile(seconds, 95),
        "second": {"count": len(seconds_second), "median": statistics.median(seconds_second or [0.0]),
                   "first_median": statistics.median(r["seconds"] - (r.get("second_run_seconds") or 0.0) for r in records),
                   "share": sum(seconds_second) / max(sum(seconds), 1e-9)},
        "worker_peak": statistics.median(peaks), "worker_max": max(peaks),
        "whole": max((s["total"] for s in samples), default=0) + jobs * max(peaks),
        # Resident memory a tenth and nine tenths of the way through the batch (start-up aside).
        "grader_first": grader_at(0.1), "grader_last": grader_at(0.9),
        "peak_first": statistics.median(peaks[:quarter]), "peak_last": statistics.median(peaks[-quarter:]),
    }


class cpu_account:
    """CPU time of a command and everything it starts (fork server, workers, the kernel's work for
    them, their exits), from a cpuacct cgroup of its own: unlike the rates, it hardly moves when
    other work shares the machine. None where cgroups cannot be made (not root, no cgroup v1)."""

    def __init__(self):
        self.path = Path(f"/sys/fs/cgroup/cpuacct/autograder-bench-{os.getpid()}")

    def __enter__(self):
        try:
            self.path.mkdir()
        except OSError:
            self.path = None
        return self

    def join(self) -> None:
        """In the command's process, before it starts: join the group."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float | None:
        return int((self.path / "cpuacct.usage").read_text()) / 1e9 if self.path is not None else None

    def __exit__(self, *exc) -> None:
        if self.path is not None:
            for _ in range(100):  # the last workers may take a moment to leave
                try:
                    self.path.rmdir()
                    return
                except OSError:
                    time.sleep(0.05)


def sample_memory(process: subprocess.Popen) -> list[dict]:
    """Every 50 ms: the grader's RSS, and grader plus fork server (workers are measured by cgroup)."""
    samples = []
    try:
        grader = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                rss = grader.memory_info().rss
                server = sum(c.memory_info().rss for c in grader.children() if "fork_server" in " ".join(c.cmdline()))
                if rss:  # an exiting process reports 0
                    samples.append({"grader": rss, "total": rss + server, "at": time.time()})
            except psutil.Error:
                pass
            time.sleep(0.05)
    except psutil.Error:
        pass
    return samples


def run_kernels(folder: Path, jobs: int) -> dict:
    """Each submission executed in its own fresh Jupyter kernel through nbclient, as peers grade."""
    from nbclient import NotebookClient

    def one(path: Path) -> tuple[float, int]:
        nb = nbformat.read(path, 4)
        started = time.perf_counter()
        client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(folder)}})
        rss = 0
        with client.setup_kernel(stderr=subprocess.DEVNULL):  # its warnings (TCP without encryption) are noise here
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            try:
                rss = psutil.Process(client.km.provisioner.process.pid).memory_info().rss
            except (psutil.Error, AttributeError):
                pass
        return time.perf_counter() - started, rss

    paths = sorted(folder.glob("*.ipynb"))
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(one, paths))
    wall = time.perf_counter() - started
    seconds = [r[0] for r in results]
    rss = [r[1] for r in results]
    return {"rate": len(paths) / wall, "median": statistics.median(seconds), "p95": percentile(seconds, 95),
            "worker_peak": statistics.median(rss), "whole": jobs * max(rss)}


def run_otter(folder: Path, out: Path, jobs: int) -> dict | None:
    """`otter run` on each submission with the Otter export of the assignment."""
    otter = shutil.which("otter", path=str(Path(sys.executable).parent))
    if otter is None:
        return None
    out.mkdir()
    subprocess.run([sys.executable, "-m", "autograder", "--root", str(ROOT), "export", "otter", SLUG, "--out", str(out)],
                   check=True, capture_output=True)

    def one(path: Path) -> float:
        target = out / path.stem
        target.mkdir()
        started = time.perf_counter()
        result = subprocess.run([otter, "run", "-a", str(out / "autograder.zip"), str(path), "-o", str(target)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"otter run failed on {path.name}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return time.perf_counter() - started

    paths = sorted(folder.glob("*.ipynb"))
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        seconds = list(pool.map(one, paths))
    return {"rate": len(paths) / (time.perf_counter() - started), "median": statistics.median(seconds),
            "p95": percentile(seconds, 95)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    intercept = mean_y - slope * mean_x
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys))
    total = sum((y - mean_y) ** 2 for y in ys)
    return slope, intercept, 1 - residual / total if total else 1.0


def mb(value: float) -> str:
    return f"{value / 2**20:5.0f} MB"


if __name__ == "__main__":
    main()
