"""Streams over CSV files sorted by a key, for registers far larger than memory.

A file is read line by line (`read_lines`), each line parsed into a (key, value) pair
(`sorted_items`), runs of equal keys grouped (`grouped`) and a `Cursor` hands out the group of
one key at a time, so that several files sorted by the same key are joined like a merge.
`sorted_through_disk` sorts a stream by way of temporary files when its order is not the join's.
Lines that cannot be used are counted in a `LoadSummary`, never raised.
"""

import csv
import heapq
import itertools
import json
from operator import itemgetter
from pathlib import Path

from sources import RegisterFileError


class SkipLine(Exception):
    """Raised by a parser: the line is skipped and counted under `reason`."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def open_csv(path):
    # A stray byte must not stop a load of millions of lines: it becomes U+FFFD.
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def read_header(path, columns):
    """The header row, or RegisterFileError naming the columns that `path` lacks."""
    with open_csv(path) as f:
        header = next(csv.reader(f), [])
    missing = [c for c in columns if c not in header]
    if missing:
        raise RegisterFileError(f"{path.name}: missing columns: {', '.join(missing)}.")
    return header


def read_lines(path, columns, summary):
    """The values of `columns` for each line of the file; lines of the wrong width are skipped."""
    with open_csv(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        where = [header.index(c) for c in columns]
        while True:
            try:
                line = next(reader)
            except StopIteration:
                return
            except csv.Error:
                summary.skip("malformed")
                continue
            if len(line) != len(header):
                if line:
                    summary.skip("malformed")
                continue
            yield [line[i] for i in where]


def sorted_items(lines, parse, summary):
    """(key, value) pairs of the parsed lines (`parse` returns None to leave a line out);
    a line whose key goes backwards is skipped."""
    last = ""
    for values in lines:
        try:
            item = parse(values)
        except SkipLine as exc:
            summary.skip(exc.reason)
            continue
        if item is None:
            continue
        if item[0] < last:
            summary.skip("out_of_order")
            continue
        last = item[0]
        yield item


def grouped(items):
    """(key, [values]) for each run of equal keys."""
    for key, run in itertools.groupby(items, key=itemgetter(0)):
        yield key, [value for _, value in run]


class Cursor:
    """Hands out the values of one key at a time from groups sorted by key; the values of keys
    that are never asked for are skipped for the reason `orphan` (`weight` lines each group)."""

    def __init__(self, groups, summary, orphan, weight=len):
        self.groups, self.summary, self.orphan, self.weight = iter(groups), summary, orphan, weight
        self.head = next(self.groups, None)

    def take(self, key):
        while self.head is not None and self.head[0] < key:
            self.skip_head()
        if self.head is not None and self.head[0] == key:
            values, self.head = self.head[1], next(self.groups, None)
            return values
        return []

    def finish(self):
        while self.head is not None:
            self.skip_head()

    def skip_head(self):
        self.summary.skip(self.orphan, self.weight(self.head[1]))
        self.head = next(self.groups, None)


def sorted_through_disk(items, key, folder, chunk_size):
    """The items (JSON-ready lists) sorted by `key`, at most `chunk_size` of them in memory: full
    chunks are sorted and written to `folder`, then merged."""
    chunk, paths = [], []
    for item in items:
        chunk.append(item)
        if len(chunk) == chunk_size:
            paths.append(spill(sorted(chunk, key=key), Path(folder) / f"chunk-{len(paths)}.jsonl"))
            chunk = []
    chunk.sort(key=key)
    if not paths:
        yield from chunk
        return
    paths.append(spill(chunk, Path(folder) / f"chunk-{len(paths)}.jsonl"))
    files = [open(p, encoding="utf-8") for p in paths]  # noqa: SIM115
    try:
        yield from heapq.merge(*((json.loads(line) for line in f) for f in files), key=key)
    finally:
        for f in files:
            f.close()


def spill(items, path):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    return path


def count_lines(path):
    """Lines after the header, for a progress bar (a value that spans lines counts them all)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            newlines, last = newlines + chunk.count(b"\n"), chunk[-1:]
    return max(newlines + (last != b"\n") - 1, 0)
