#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""run.py - run every tern test and print "N passed, N failed".

Unit tests are the C binaries build/test/test_* (built by `make
testbuild`); each prints one "PASS name" or "FAIL name" line per test.
Integration tests are the functions named test_* in
tests/integration/test_*.py; each starts what it needs through
tests/harness.py and raises on failure.  Integration modules run in two
worker processes (the machine has two cores); every test has a time limit.

    python3 tests/run.py [-j N] [PATTERN ...]   # PATTERN filters test names
"""
import argparse
import concurrent.futures
import glob
import importlib.util
import io
import os
import subprocess
import sys
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_TIMEOUT = 120


def wanted(name, patterns):
    return not patterns or any(p in name for p in patterns)


def run_unit(path, patterns):
    name = os.path.basename(path)
    results = []
    try:
        p = subprocess.run([path], cwd=TOP, capture_output=True, timeout=300)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return [(name, False, "timed out")]
    detail = []
    for line in out.splitlines():
        if line.startswith(("PASS ", "FAIL ")):
            test = name + "." + line[5:]
            ok = line.startswith("PASS")
            if wanted(test, patterns):
                results.append((test, ok, "\n".join(detail) + err))
            detail = []
        else:
            detail.append(line)
    if p.returncode != 0 and all(ok for _, ok, _ in results):
        results.append((name, False, "exit %d\n%s%s" % (p.returncode, out, err)))
    return results


def run_module(path, patterns):
    """Run the tests of one integration module in this (worker) process."""
    sys.path.insert(0, os.path.join(TOP, "tests"))
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    os.chdir(TOP)
    modname = os.path.splitext(os.path.basename(path))[0]
    results = []
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception:
        return [(modname, False, traceback.format_exc())]
    for attr in sorted(dir(mod), key=lambda a: getattr(getattr(mod, a),
                       "__code__", None) and getattr(mod, a).__code__.co_firstlineno or 0):
        fn = getattr(mod, attr)
        if not attr.startswith("test_") or not callable(fn):
            continue
        test = modname + "." + attr
        if not wanted(test, patterns):
            continue
        start = time.monotonic()
        try:
            import harness
            harness.run_with_timeout(fn, TEST_TIMEOUT)
            results.append((test, True, "%.1fs" % (time.monotonic() - start)))
        except BaseException:
            results.append((test, False, traceback.format_exc()))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("patterns", nargs="*")
    args = ap.parse_args()
    passed = failed = 0

    def report(results):
        nonlocal passed, failed
        for test, ok, detail in results:
            if ok:
                passed += 1
                print("PASS", test, flush=True)
            else:
                failed += 1
                print("FAIL", test, flush=True)
                print("    " + detail.strip().replace("\n", "\n    "), flush=True)

    for path in sorted(glob.glob(os.path.join(TOP, "build/test/test_*"))):
        if os.access(path, os.X_OK) and not path.endswith((".c", ".o")):
            report(run_unit(path, args.patterns))
    modules = sorted(glob.glob(os.path.join(TOP, "tests/integration/test_*.py")))
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.j) as pool:
        futures = [pool.submit(run_module, m, args.patterns) for m in modules]
        for f in futures:
            report(f.result())
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
