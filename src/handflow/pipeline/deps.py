"""The source files a command runs: the transitive `handflow` imports of its module, read statically.

A rule lists these as inputs, so an edit to a module reruns exactly the stages
whose code imports it (editing the figure code does not retrain a model). Imports
are read with `ast` (nothing is executed), including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path


def _module_file(src: Path, module: str) -> Path | None:
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("handflow"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("handflow"))
    return found


def module_files(src: Path, *modules: str) -> list[Path]:
    """Files of `modules` (dotted, under `src`) and of every handflow module they import, transitively."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(src, name)
        if path is None:
            continue  # a name imported from a module, not a module itself
        seen[name] = path
        todo.extend(_imports(path))
    return sorted(set(seen.values()))
