"""``creditwatch detect``: score a ``timestamp,value`` CSV strictly online."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from creditwatch.evaluation.nab import parse_timestamp
from detectors.iot import StreamAnomalyDetector


class InputError(ValueError):
    """The CSV cannot be scored; the message names the row."""


def read_points(handle: TextIO) -> Iterator[tuple[str, float]]:
    """Yield ``(timestamp text, value)`` rows of a ``timestamp,value`` CSV."""
    reader = csv.DictReader(handle)
    if reader.fieldnames is None or not {"timestamp", "value"} <= set(reader.fieldnames):
        raise InputError("expected a header with 'timestamp' and 'value' columns")
    for line, row in enumerate(reader, start=2):
        try:
            yield row["timestamp"], float(row["value"])
        except (TypeError, ValueError) as exc:
            raise InputError(f"line {line}: bad value {row.get('value')!r}") from exc


def score_points(
    points: Iterable[tuple[str, float]], detector: StreamAnomalyDetector
) -> Iterator[tuple[str, float, float]]:
    """Score each point before the next is read (no look-ahead); naive times are UTC."""
    for line, (timestamp, value) in enumerate(points, start=2):
        try:
            at = parse_timestamp(timestamp)
        except ValueError as exc:
            raise InputError(f"line {line}: bad timestamp {timestamp!r}") from exc
        yield timestamp, value, detector.update(at, value)


def write_scores(rows: Iterable[tuple[str, float, float]], out: TextIO) -> int:
    """Write ``timestamp,value,anomaly_score`` rows; return how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("timestamp", "value", "anomaly_score"))
    count = 0
    for timestamp, value, score in rows:
        writer.writerow((timestamp, repr(value), f"{score:.9f}"))
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    detector = StreamAnomalyDetector()
    try:
        with args.csv.open(newline="") as source:
            rows = score_points(read_points(source), detector)
            if args.out is None:
                write_scores(rows, sys.stdout)
            else:
                with args.out.open("w", newline="") as out:
                    count = write_scores(rows, out)
                print(f"wrote {count} scored rows to {args.out}", file=sys.stderr)
    except BrokenPipeError:
        # The reader (e.g. ``| head``) left early: not an error. Point stdout at
        # devnull so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, InputError) as exc:
        print(f"creditwatch detect: {exc}", file=sys.stderr)
        return 2
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``detect`` sub-command."""
    parser = subparsers.add_parser(
        "detect",
        help="score a timestamp,value CSV with the IoT stream anomaly detector",
        description=(
            "Score every row of a timestamp,value CSV in order, strictly online (each score "
            "uses only earlier rows), with the default StreamAnomalyDetector. Writes "
            "timestamp,value,anomaly_score with one row per input row and scores in [0, 1). "
            "Timestamps without a zone are taken as UTC."
        ),
    )
    parser.add_argument("--csv", type=Path, required=True, help="input CSV (timestamp,value)")
    parser.add_argument("--out", type=Path, help="output CSV (default: stdout)")
    parser.set_defaults(func=run)
