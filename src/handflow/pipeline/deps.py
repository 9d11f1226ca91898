"""The source files a stage runs, read statically: a rule lists them as inputs.

So an edit to a module reruns exactly the stages whose code imports it (editing the figure
code does not retrain a model). Imports are read with `ast` (nothing is executed),
including those inside functions, and every package `__init__.py` on the way.

A stage is a command: `module:function`, the handler in a group's `commands.py`. Its files
are the root CLI's, the command module's own file and what it imports at module level (the
stage frame, the group's vocabulary), and what the handler imports inside its body, also
through the module's own helper functions it calls; not what the module's *other* handlers
import. So a stage depends on its own paper's command module, never on another paper's.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path

ROOT_CLI = "handflow.cli"


def _module_file(src: Path, module: str) -> Path | None:
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(nodes: Iterable[ast.AST]) -> set[str]:
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("handflow"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("handflow"))
    return found


def _parse(path: Path) -> ast.Module:
    stat = path.stat()
    return _parse_version(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parse_version(path: Path, mtime_ns: int, size: int) -> ast.Module:  # one parse per file version (many rules share files)
    return ast.parse(path.read_text(), filename=str(path))


class ImportCache:
    """Each file's handflow imports, kept on disk by file version: a no-op `snakemake` re-reads no source.

    Parsing every module for every rule is most of what the Snakefile costs otherwise (0.5 s
    of a 2.4 s no-op, measured; benchmarks/README.md).
    """

    def __init__(self, path: Path | None, frozen_files: bool = False) -> None:
        """`frozen_files`: sources do not change while this cache lives (one Snakefile parse), so each is looked at once."""
        self.path, self.dirty, self.frozen = path, False, frozen_files
        self.entries: dict[str, list] = {}
        self.checked: set[str] = set()
        self.files: dict[tuple[Path, str], Path | None] = {}
        if path is not None and path.is_file():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}

    def module_file(self, src: Path, module: str) -> Path | None:
        key = (src, module)
        if not self.frozen or key not in self.files:
            self.files[key] = _module_file(src, module)
        return self.files[key]

    def imports(self, file: Path) -> list[str]:
        if self.frozen and str(file) in self.checked:
            return self.entries[str(file)][1]
        self.checked.add(str(file))
        stat = file.stat()
        version = [stat.st_mtime_ns, stat.st_size]
        entry = self.entries.get(str(file))
        if entry is None or entry[0] != version:
            entry = [version, sorted(_imported(ast.walk(_parse(file))))]
            self.entries[str(file)] = entry
            self.dirty = True
        return entry[1]

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.entries))
        tmp.replace(self.path)  # whole file or nothing, also with several Snakemake processes
        self.dirty = False


_MEMORY = ImportCache(None)


def _packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_files(src: Path, *modules: str, cache: ImportCache = _MEMORY) -> list[Path]:
    """Files of `modules` (dotted, under `src`), of every handflow module they import, transitively, and of their packages."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = cache.module_file(src, name)
        if path is None:
            continue  # a name imported from a module, not a module itself
        seen[name] = path
        todo.extend(cache.imports(path))
        todo.extend(_packages(name))
    return sorted(set(seen.values()))


def command_files(src: Path, command: str, cache: ImportCache = _MEMORY) -> list[Path]:
    """Files of the stage `module:function` (see the module docstring)."""
    module, _, function = command.partition(":")
    path = _module_file(src, module)
    if path is None:
        raise ValueError(f"no module {module} under {src}")
    tree = _parse(path)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if function not in functions:
        raise ValueError(f"{module} has no function {function!r}")
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    imports, todo, seen = _imported(top_level), [function], set()
    while todo:  # the handler and the module's helpers it calls
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        body = list(ast.walk(functions[name]))
        imports |= _imported(body)
        todo.extend(n.id for n in body if isinstance(n, ast.Name) and n.id in functions)
    return sorted({path, *module_files(src, ROOT_CLI, *_packages(module), *imports, cache=cache)})
