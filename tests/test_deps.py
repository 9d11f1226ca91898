"""Rules list the code they run: a module's transitive handflow imports, no more."""

from __future__ import annotations

from conftest import REPO
from handflow.pipeline.deps import module_files


def _names(*modules: str) -> set[str]:
    return {str(p.relative_to(REPO / "src" / "handflow")) for p in module_files(REPO / "src", *modules)}


def test_training_code_excludes_evaluation_and_figures():
    train = _names("handflow.papers.interhandgen.train")
    assert {"papers/interhandgen/train.py", "papers/interhandgen/diffusion.py", "papers/interhandgen/apg.py", "training.py"} <= train
    assert not train & {"papers/interhandgen/report.py", "papers/interhandgen/evaluate.py", "render/rasterize.py", "metrics/contact.py"}


def test_imports_inside_functions_and_from_packages_count():
    report = _names("handflow.papers.interhandgen.report")
    assert {"render/rasterize.py", "render/images.py", "metrics/contact.py", "papers/interhandgen/sample.py"} <= report
