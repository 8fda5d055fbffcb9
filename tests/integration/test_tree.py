# SPDX-License-Identifier: ISC
"""test_tree.py - the shape of the source tree (issue 9).

- the import graph has no circles: a file that uses a function or
  variable of another file (an undefined symbol of its object resolved
  to the object that defines it, read with nm(1) from the -O2 build that
  `make test` makes first) never reaches itself again;
- nor has the graph of folders (a folder of src/ per process, lib/ for
  what they share), and lib/ calls into no other folder;
- every folder of src/ has a README naming it, private headers
  (*_priv.h) sit beside their .c files, never in include/, and file
  names are unique across folders (objects are flat in build/);
- the top level holds only what the brief allows.

Plain functions raising AssertionError; run by tests/run.py.
"""
import glob
import os
import subprocess

import harness

TOP = harness.TOP
ALLOWED_TOP = {"Makefile", "README", "src", "include", "tests", "etc",
               "man", ".ci", ".gitignore", "LICENSE"}


def objects():
    """The library objects of the -O2 build (no main_*, no test build)."""
    out = []
    for path in glob.glob(os.path.join(TOP, "build", "**", "*.o"),
                          recursive=True):
        rel = os.path.relpath(path, os.path.join(TOP, "build"))
        if rel.split(os.sep)[0] in ("test", "fuzz"):
            continue
        if os.path.basename(path).startswith("main_"):
            continue
        out.append(path)
    return out


def import_graph():
    defs, uses = {}, {}
    for path in objects():
        name = os.path.basename(path)[:-2]
        text = subprocess.run(["nm", path], capture_output=True, text=True,
                              timeout=30, check=True).stdout
        for line in text.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                uses.setdefault(name, set()).add(f[1])
    return {m: {defs[s] for s in u if s in defs and defs[s] != m}
            for m, u in uses.items()}


def circles(graph):
    """The strongly connected components with more than one file."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_circles_are_found():
    """The finder itself: a -> b -> c -> a is one circle, d is not."""
    g = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert circles(g) == [["a", "b", "c"]], circles(g)


def test_no_import_circles():
    objs = objects()
    assert len(objs) > 20, "build the -O2 objects first (make all)"
    found = circles(import_graph())
    assert not found, "import circles: %s" % found


def folders():
    """{file stem: folder} for the .c files of src/*/."""
    out = {}
    for path in glob.glob(os.path.join(TOP, "src", "*", "*.c")):
        out[os.path.basename(path)[:-2]] = path.split(os.sep)[-2]
    return out


def folder_graph():
    where, g = folders(), {}
    for a, bs in import_graph().items():
        for b in bs:
            fa, fb = where.get(a), where.get(b)
            if fa and fb and fa != fb:
                g.setdefault(fa, set()).add(fb)
    return g


def test_no_folder_circles_and_lib_is_the_bottom():
    g = folder_graph()
    assert "lib" not in g or not g["lib"], "lib/ calls %s" % g["lib"]
    found = circles(g)
    assert not found, "folder circles: %s" % found


def test_folders_and_headers():
    dirs = sorted(d for d in os.listdir(os.path.join(TOP, "src"))
                  if os.path.isdir(os.path.join(TOP, "src", d)))
    assert {"master", "smtpd", "qmgr", "smtp", "local", "spool", "lib",
            "cmd"} <= set(dirs), dirs
    assert not glob.glob(os.path.join(TOP, "src", "*.c")), "flat sources"
    for d in dirs:
        readme = os.path.join(TOP, "src", d, "README")
        assert os.path.isfile(readme), readme
        with open(readme) as f:
            assert f.readline().startswith(d + "/"), readme
    assert not glob.glob(os.path.join(TOP, "include", "*_priv.h"))
    stems = [os.path.basename(p) for p in
             glob.glob(os.path.join(TOP, "src", "*", "*.c"))]
    assert len(stems) == len(set(stems)), "a file name in two folders"


def test_top_level():
    names = {n for n in os.listdir(TOP)
             if n not in (".git", "build", "bin", "run")}
    assert names <= ALLOWED_TOP, sorted(names - ALLOWED_TOP)
