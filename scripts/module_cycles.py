#!/usr/bin/env python3
"""Fails when modules of src/ import each other in a cycle (`make lint` runs it).

Every `crate::a::b` and `super::x` path in a file is an edge from that file's module to the
module it names. Edges are then looked at level by level: between the top-level modules
(`engine` → `auth` → `vision` ...), and between the children of each module (`gui::app` →
`gui::enrol`). A cycle at any level is printed with the files that make it, and the exit status
is 1. A module's own submodules may use items their parent re-exports (`super::Thing`); a child
importing its parent is not a cycle between siblings, so that edge is not counted.

    python3 scripts/module_cycles.py [SRC_DIR]
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
COMMENT = re.compile(r"//.*")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def resolve(modules: set, path: tuple) -> tuple:
    """The longest prefix of `path` that is a module (the rest names items)."""
    for n in range(len(path), -1, -1):
        if path[:n] in modules:
            return path[:n]
    return ()


def use_paths(text: str):
    """Every path a file names: `crate::a::b`, `super::x`, and each leaf of a use tree such as
    `use crate::a::{b::C, d}` (→ `crate::a::b::C`, `crate::a::d`)."""
    text = "\n".join(COMMENT.sub("", line) for line in text.splitlines())
    for m in re.finditer(r"\b(crate|super)((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*::\s*\{", text):
        prefix = (m.group(1),) + tuple(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2)))
        depth, i, start = 1, m.end(), m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield from tree(prefix, text[start : i - 1])
    for m in PATH.finditer(text):
        yield (m.group(1),) + tuple(m.group(2).split("::")[1:])


def tree(prefix: tuple, body: str):
    """Leaves of a use tree's braces (one level of nesting is enough for this code base)."""
    depth, item = 0, ""
    for ch in body + ",":
        if ch == "," and depth == 0:
            names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", item.split("{")[0])
            if names and names[0] != "self":
                yield prefix + tuple(n for n in names if n != "as")[:1 + item.count("::")]
            elif names:
                yield prefix
            item = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        item += ch


def edges(src: Path):
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(src, f) for f in files}
    for f in files:
        me = module_of(src, f)
        for path in use_paths(f.read_text()):
            root, names = path[0], path[1:]
            if root == "crate":
                target = names
            else:
                # `super` from `a::b` (a.rs/b.rs or a/b/mod.rs alike) is `a`.
                base = me[:-1]
                while names and names[0] == "super":
                    base, names = base[:-1], names[1:]
                target = base + names
            target = resolve(modules, target)
            if target != me:
                yield me, target, f


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
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

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    # level graphs: parent module -> child -> children it uses, with the files as evidence
    levels = defaultdict(lambda: defaultdict(set))
    evidence = defaultdict(set)
    count = 0
    for a, b, f in edges(src):
        count += 1
        common = 0
        while common < min(len(a), len(b)) and a[common] == b[common]:
            common += 1
        if common == len(a) or common == len(b):
            continue  # parent ↔ own child: not between siblings
        parent = a[:common]
        ca, cb = a[common], b[common]
        levels[parent][ca].add(cb)
        evidence[(parent, ca, cb)].add(str(f))
    found = 0
    for parent, graph in sorted(levels.items()):
        for comp in cycles(graph):
            found += 1
            where = "::".join(parent) or "crate"
            print(f"import cycle among {where}::{{{', '.join(comp)}}}:")
            for x in comp:
                for y in comp:
                    for f in sorted(evidence.get((parent, x, y), ())):
                        print(f"  {x} -> {y}  ({f})")
    modules = sum(len(g) for g in levels.values())
    if found:
        print(f"{found} import cycle(s)")
        return 1
    print(f"no import cycles: {count} module references between {modules} modules, every level")
    return 0


if __name__ == "__main__":
    sys.exit(main())
