#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""run.py - run every tern test and print "N passed, N failed".

Unit tests are the C binaries build/test/test_* (built by `make
testbuild`); each prints one "PASS name", "FAIL name" or "SKIP name: why"
line per test.
Integration tests are the functions named test_* in
tests/integration/test_*.py; each starts what it needs through
tests/harness.py and raises on failure.  Integration modules run in two
worker processes (the machine has two cores); every test has a time limit.
A test that cannot run here (no root, an optional tool missing) calls
harness.skip(why) and is counted as skipped; with TERN_TEST_STRICT=1 (set
by .ci/run) every skip counts as a failure, so CI runs everything.

    python3 tests/run.py [-j N] [--unit] [PATTERN ...]
    # PATTERN filters test names; --unit runs the unit tests alone
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
STRICT = os.environ.get("TERN_TEST_STRICT", "") not in ("", "0")
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


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
        return [(name, FAIL, "timed out")]
    detail = []
    for line in out.splitlines():
        if line.startswith(("PASS ", "FAIL ", "SKIP ")):
            verdict = line[:4]
            test, _, why = line[5:].partition(": ")
            test = name + "." + test
            if wanted(test, patterns):
                text = why if verdict == SKIP else "\n".join(detail) + err
                results.append((test, verdict, text))
            detail = []
        else:
            detail.append(line)
    if p.returncode != 0 and all(v != FAIL for _, v, _ in results):
        results.append((name, FAIL, "exit %d\n%s%s" % (p.returncode, out, err)))
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
        return [(modname, FAIL, traceback.format_exc())]
    for attr in sorted(dir(mod), key=lambda a: getattr(getattr(mod, a),
                       "__code__", None) and getattr(mod, a).__code__.co_firstlineno or 0):
        fn = getattr(mod, attr)
        if not attr.startswith("test_") or not callable(fn):
            continue
        test = modname + "." + attr
        if not wanted(test, patterns):
            continue
        start = time.monotonic()
        import harness
        try:
            harness.run_with_timeout(fn, TEST_TIMEOUT)
            results.append((test, PASS, "%.1fs" % (time.monotonic() - start)))
        except harness.Skip as e:
            results.append((test, SKIP, str(e)))
        except BaseException:
            results.append((test, FAIL, traceback.format_exc()))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--unit", action="store_true",
                    help="the unit tests only (make TLS=no unittest)")
    ap.add_argument("patterns", nargs="*")
    args = ap.parse_args()
    passed = failed = skipped = 0

    def report(results):
        nonlocal passed, failed, skipped
        for test, verdict, detail in results:
            if verdict == PASS:
                passed += 1
                print("PASS", test, flush=True)
            elif verdict == SKIP and not STRICT:
                skipped += 1
                print("SKIP %s: %s" % (test, detail), flush=True)
            else:
                failed += 1
                if verdict == SKIP:
                    detail = "skipped under TERN_TEST_STRICT: " + detail
                print("FAIL", test, flush=True)
                print("    " + detail.strip().replace("\n", "\n    "), flush=True)

    for path in sorted(glob.glob(os.path.join(TOP, "build/test/test_*"))):
        if os.access(path, os.X_OK) and not path.endswith((".c", ".o")):
            report(run_unit(path, args.patterns))
    modules = [] if args.unit else sorted(
        glob.glob(os.path.join(TOP, "tests/integration/test_*.py")))
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.j) as pool:
        futures = [pool.submit(run_module, m, args.patterns) for m in modules]
        for f in futures:
            report(f.result())
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
