"""Rules list the code they run: a command's own handler and module, the root CLI, what they import; nothing of other commands."""

from __future__ import annotations

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
