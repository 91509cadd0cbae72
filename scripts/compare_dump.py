#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare_dump.py NATIVE OTHER -- two runs of tests/edge/test_edge's dump
("name tolerance value" per line) agree: the same names in the same order,
and every value within that line's tolerance of the native run's. Prints the
largest difference; exit status 1 on any mismatch."""
import sys


def read(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def main(native_path, other_path):
    native, other = read(native_path), read(other_path)
    if [r[0] for r in native] != [r[0] for r in other]:
        print(f"compare_dump: {other_path}: not the same outputs as {native_path}")
        return 1
    bad, worst, worst_name = 0, 0.0, ""
    for (name, tol, a), (_, _, b) in zip(native, other):
        diff = abs(float(a) - float(b))
        if diff > worst:
            worst, worst_name = diff, name
        if not diff <= float(tol):
            bad += 1
            if bad <= 10:
                print(f"compare_dump: {name}: {b} vs native {a} (tol {tol})")
    print(f"compare_dump: {other_path}: {len(native)} values, {bad} outside tolerance, "
          f"largest difference {worst:.3g}{' (' + worst_name + ')' if worst_name else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
