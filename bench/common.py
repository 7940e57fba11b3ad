"""What every bench shares: percentiles, the goals it judges, and the record in RESULTS.md.

Each bench module has a `run(args) -> Report` that the aggregate bench (`bench/all.py`, behind
`make bench` and `make bench-full`) calls in turn; run alone (`python bench/x.py`) a module
prints and records its own report through `finish`.
"""

import cProfile
import io
import os
import platform
import pstats
import re
import shlex
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def p50_p95(values):
    """Median and 95th percentile (nearest rank) of a list of numbers."""
    values = sorted(values)
    if not values:
        return float("nan"), float("nan")
    return statistics.median(values), values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


@dataclass
class Goal:
    """One line of the issue's table: what was measured against its target.

    `limit` says, when a goal is missed, what on this machine limits it (with the profile that
    shows it, in the report's lines)."""

    name: str
    measured: str
    target: str
    met: bool
    limit: str = ""

    def line(self):
        verdict = "met" if self.met else "missed"
        tail = f" — {self.limit}" if self.limit and not self.met else ""
        return f"goal {self.name}: {self.measured} (target {self.target}) {verdict}{tail}"


def at_most(name, measured, target, unit="ms", limit=""):
    """A goal met when `measured` ≤ `target`."""
    return Goal(name, f"{measured:.1f} {unit}", f"≤ {target:g} {unit}", measured <= target, limit)


def at_least(name, measured, target, unit="", limit=""):
    """A goal met when `measured` ≥ `target`."""
    unit = f" {unit}" if unit else ""
    return Goal(name, f"{measured:.1f}{unit}", f"≥ {target:g}{unit}", measured >= target, limit)


@dataclass
class Report:
    """A bench's printed lines (its table, profiles) and the goals it judged."""

    title: str
    lines: list = field(default_factory=list)
    goals: list = field(default_factory=list)

    def print(self, line=""):
        """Print a line now and keep it for RESULTS.md."""
        print(line, flush=True)
        self.lines.append(line)


def machine():
    """The machine a run was made on: cores, memory, load average, Python."""
    memory = "?"
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, memory {memory}, load average {load}, "
        f"Python {platform.python_version()}, {platform.machine()}"
    )


def record(reports, command=None):
    """Append one run (its reports, then every goal line) to bench/RESULTS.md, and print the
    goal lines last."""
    command = command or " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    goals = [goal for report in reports for goal in report.goals]
    block = [f"## {now}", "", f"- machine: {machine()}", f"- command: `{command}`", ""]
    for report in reports:
        block += [f"### {report.title}", "", "```", *report.lines, "```", ""]
    if goals:
        block += ["```", *(goal.line() for goal in goals), "```", ""]
    new = not RESULTS.exists()
    with open(RESULTS, "a", encoding="utf-8") as f:
        if new:
            f.write("# Bench results\n\nEach run of `make bench` adds a block.\n\n")
        f.write("\n".join(block) + "\n")
    print(f"\nrecorded in {RESULTS}")
    for goal in goals:
        print(goal.line())


def finish(report):
    """A bench module run alone: record its report."""
    record([report])


def profile(client, url, repeat, top=12, sort="tottime"):
    """The functions that take the time of `url` through a test client (cProfile over `repeat`
    requests, by their own time or `sort`): lines for a report, paths shortened."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(top)
    text = re.sub(r"\S*/site-packages/", "", out.getvalue())
    text = text.replace(f"{Path(__file__).resolve().parent.parent}/", "")
    lines = [line for line in text.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    total = next(line for line in lines if "function calls" in line).strip()
    return [f"  {url} x{repeat}: {total}", *("  " + line for line in lines[start:])]
