#!/usr/bin/env python3
"""Vigil's PromQL known-answer fixtures, with Prometheus itself as the oracle.

The fixtures are promtool rule-test files (input series + expressions + expected samples).
Their expectations are not written by hand: `record` asks a real Prometheus (promtool from
Debian's `prometheus` package, 2.42) for the answers and writes them down; `check` runs
promtool over the recorded files and fails if Prometheus disagrees with any of them. Vigil's
Rust tests (backend/tests/promql_known_answers.rs) then require Vigil to give the same answers.

    scripts/promql-fixtures.py record   # backend/tests/promql/source/*.yml -> backend/tests/promql/*.yml
    scripts/promql-fixtures.py check    # verify backend/tests/promql/*.yml with promtool

promtool compares floats with Go's reflect.DeepEqual, under which NaN never equals NaN, so
`check` compares promtool's printed expected and actual samples instead: they print the same
exactly when Prometheus gives the recorded answer, NaN included.
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "backend", "tests", "promql")
SOURCES = os.path.join(FIXTURES, "source")
HEADER = (
    "# Recorded by scripts/promql-fixtures.py from source/{name} with promtool ({version}).\n"
    "# The expected samples are Prometheus' own answers; do not edit them by hand.\n"
)


def promtool(path):
    result = subprocess.run(["promtool", "test", "rules", path], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def promtool_version():
    out = subprocess.run(["promtool", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"version (\S+)", out)
    return "promtool " + (match.group(1) if match else "unknown version")


def split_samples(text):
    """Splits promtool's `{a="1"} 3E+00, {b="x, y"} NaN` into (labels, value) pairs."""
    text = text.strip()
    if text == "nil":
        return []
    samples, i = [], 0
    while i < len(text):
        start = i
        depth, quoted = 0, False
        while i < len(text):
            c = text[i]
            if quoted:
                if c == "\\":
                    i += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            i += 1
        labels = text[start:i].strip()
        rest = text[i:].lstrip()
        end = rest.find(", ")
        value = rest if end < 0 else rest[:end]
        samples.append((labels, value.strip()))
        i = len(text) if end < 0 else len(text) - len(rest) + end + 2
    return samples


def parse_failures(output):
    """Maps (expr, eval_time) to (exp text, got text) for each failed expression."""
    failures = {}
    pattern = re.compile(r'expr: (".*"), time: (\S+),\n\s+exp: (.*)\n\s+got: (.*)')
    for match in pattern.finditer(output):
        expr = yaml.safe_load(match.group(1))
        failures[(expr, match.group(2).rstrip(","))] = (match.group(3), match.group(4))
    return failures


def prometheus_duration(text):
    """An eval time as promtool prints it (Prometheus' model.Duration: `1h5m`, `90s` -> `1m30s`)."""
    total_ms = 0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(text)):
        total_ms += int(number) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000,
                                   "w": 604800000, "y": 31536000000}[unit]
    if total_ms == 0:
        return "0s"
    parts = []
    for unit, size in (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000),
                       ("m", 60000), ("s", 1000), ("ms", 1)):
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def to_float(text):
    special = {"NaN": float("nan"), "+Inf": float("inf"), "-Inf": float("-inf")}
    return special[text] if text in special else float(text)


def record():
    version = promtool_version()
    for name in sorted(os.listdir(SOURCES)):
        if not name.endswith(".yml"):
            continue
        with open(os.path.join(SOURCES, name)) as f:
            source = yaml.safe_load(f)
        for group in source["tests"]:
            for case in group.get("promql_expr_test", []):
                case["exp_samples"] = []
            # One group per promtool run, so (expr, time) pairs are unambiguous.
            with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as tmp:
                yaml.safe_dump({"tests": [group]}, tmp, sort_keys=False)
            _, output = promtool(tmp.name)
            os.unlink(tmp.name)
            failures = parse_failures(output)
            for case in group.get("promql_expr_test", []):
                key = (case["expr"], prometheus_duration(case["eval_time"]))
                if key not in failures:
                    continue  # Prometheus answers nothing: the empty expectation stands.
                _, got = failures[key]
                case["exp_samples"] = [
                    {"labels": labels, "value": to_float(value)} for labels, value in split_samples(got)
                ]
        out = os.path.join(FIXTURES, name)
        with open(out, "w") as f:
            f.write(HEADER.format(name=name, version=version))
            yaml.safe_dump(source, f, sort_keys=False, width=1000)
        print(f"recorded {out}")


def check():
    failed = False
    files = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".yml"))
    if not files:
        sys.exit("no fixtures found")
    for name in files:
        path = os.path.join(FIXTURES, name)
        code, output = promtool(path)
        if code == 0:
            print(f"ok   {name}")
            continue
        failures = parse_failures(output)
        real = {k: v for k, v in failures.items() if sorted(split_samples(v[0])) != sorted(split_samples(v[1]))}
        if not failures or real:
            failed = True
            print(f"FAIL {name}")
            print(output if not failures else "\n".join(f"  {k}: exp {v[0]} got {v[1]}" for k, v in real.items()))
        else:
            print(f"ok   {name} (NaN answers compared as text)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    {"record": record, "check": check}.get(sys.argv[1] if len(sys.argv) > 1 else "", lambda: sys.exit(__doc__))()
