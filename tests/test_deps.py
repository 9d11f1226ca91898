"""Rules list the code they run: a command's own handler and module, the root CLI, what they import; nothing of other commands.

And the package's shape that keeps those lists honest: no import circle, no load-only stage on trainer code, no
process-global state in Diffusion-HPC.
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO
from handflow.pipeline.deps import command_files, module_files

SRC = REPO / "src"


def _names(files) -> set[str]:
    return {str(p.relative_to(SRC / "handflow")) for p in files}


def test_training_code_excludes_evaluation_and_figures():
    train = _names(command_files(SRC, "handflow.papers.interhandgen.commands:train"))
    assert {"papers/interhandgen/train.py", "papers/interhandgen/diffusion.py", "papers/interhandgen/apg.py", "training.py"} <= train
    assert not train & {"papers/interhandgen/report.py", "papers/interhandgen/evaluate.py", "render/rasterize.py", "metrics/contact.py"}


def test_a_stage_depends_on_its_own_papers_commands_and_the_root_cli_only():
    for command in ("handflow.papers.digit.commands:train", "handflow.papers.digit.commands:report"):
        files = _names(command_files(SRC, command))
        assert {"cli.py", "stage.py", "papers/digit/commands.py", "papers/digit/variants.py"} <= files
        assert not any(f.startswith("papers/interhandgen/") for f in files), command
    ihg = _names(command_files(SRC, "handflow.papers.interhandgen.commands:sample"))
    assert not any(f.startswith("papers/digit/") for f in ihg)
    assert "hand/model.py" in ihg  # imported by a helper of the module that the handler calls


def test_imports_inside_functions_and_from_packages_count():
    report = _names(module_files(SRC, "handflow.papers.interhandgen.report"))
    assert {"render/rasterize.py", "render/images.py", "papers/interhandgen/sample.py", "papers/interhandgen/__init__.py"} <= report


# -- the package's shape: no import circle, loaders apart from trainers, no process-global state ----------------------


def _module_graph() -> dict[str, set[str]]:
    """module -> the handflow modules it imports anywhere in its file (inside functions too), read with `ast`."""
    import ast

    from handflow.pipeline.deps import _imported

    files = {".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): p for p in (SRC / "handflow").rglob("*.py")}
    return {name: {m for m in _imported(ast.walk(ast.parse(path.read_text()))) if m in files and m != name} for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_package_has_no_import_circle():
    """Counting imports inside functions too: a lazy import that closes a circle is still a circle."""
    assert _cycle(_module_graph()) is None, " -> ".join(_cycle(_module_graph()))


def _trains(module: str, function: str) -> bool:
    """Whether a command's handler (or a helper of its module it calls) runs the trainer contract (`fit`, `fit_seeds`)."""
    import ast

    tree = ast.parse((SRC / Path(*module.split("."))).with_suffix(".py").read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    todo, seen = [function], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        names = {n.id for n in ast.walk(functions[name]) if isinstance(n, ast.Name)} | {
            a.name for n in ast.walk(functions[name]) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        if names & {"fit", "fit_seeds"}:
            return True
        todo.extend(names & set(functions))
    return False


def test_no_stage_that_only_loads_a_model_depends_on_trainer_code():
    """Over dvc.yaml: an edit to a trainer reruns the trainings, never sampling, evaluation or figures."""
    import yaml

    from handflow.cli import build_parser

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    loaders = 0
    for name, stage in stages.items():
        argv = stage["cmd"].split()[3:]  # python -m handflow <group> <stage> ...
        if not argv or argv[0] == "pipeline":
            continue
        command = build_parser(argv).parse_args(argv).command
        module = command.handler.__module__
        if _trains(module, command.handler.__name__):
            continue
        loaders += 1
        trainer_code = [d for d in stage.get("deps", []) if d.endswith("/train.py") or d == "src/handflow/training.py"]
        assert not trainer_code, f"{name} trains nothing but depends on {trainer_code}"
    assert loaders > 40


def test_diffusion_hpc_keeps_no_process_global_state():
    """No module of dhpc changes module-level state from a function (a body model chosen by a global, a cache of one)."""
    import ast

    mutators = {"append", "extend", "update", "clear", "pop", "setdefault", "add", "remove", "insert", "discard", "cache_clear"}
    for path in sorted((SRC / "handflow/papers/dhpc").glob("*.py")):
        tree = ast.parse(path.read_text())
        top = {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign) for t in ast.walk(n) if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Global | ast.Nonlocal), f"{path.name}:{node.lineno}: global state"
            if isinstance(node, ast.FunctionDef):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                assert not any("cache" in d for d in decorators), f"{path.name}:{node.lineno}: a process-wide cache ({decorators})"
                for inner in ast.walk(node):
                    target = inner.func.value if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) else None
                    if target is not None and isinstance(target, ast.Name) and target.id in top and inner.func.attr in mutators:
                        raise AssertionError(f"{path.name}:{inner.lineno}: {target.id}.{inner.func.attr} changes module state")
                    if isinstance(inner, ast.Assign):
                        for t in inner.targets:
                            if isinstance(t, ast.Subscript | ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in top:
                                raise AssertionError(f"{path.name}:{inner.lineno}: assigns into module-level {t.value.id}")
