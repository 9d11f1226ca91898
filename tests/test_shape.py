"""The pieces every paper shares: typed config sections, the command groups, the results-table builder."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from handflow.cli import command_modules
from handflow.config import Section
from handflow.errors import InputError
from handflow.tables import CONTRADICTED, HOLDS, NOT_SHOWN, Claim, Column, Estimate, Reported, ResultsTable, Row


@dataclass(frozen=True)
class Inner(Section):
    rho: float
    weight: float = 1000.0


@dataclass(frozen=True)
class Outer(Section):
    skips: tuple[int, ...]
    inner: Inner
    sizes: dict[str, Inner]
    dims: int = 0


def test_sections_convert_by_type_and_round_trip():
    cfg = Outer.from_dict({"skips": [1, 3], "inner": {"rho": 1}, "sizes": {"a": {"rho": 0.5, "weight": 2}}}, dims=7)
    assert cfg.skips == (1, 3) and cfg.inner == Inner(1.0) and isinstance(cfg.inner.rho, float) and cfg.dims == 7
    assert cfg.sizes["a"] == Inner(0.5, 2.0)
    assert Outer.from_dict(cfg.to_dict()) == cfg
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"skips": [1], "inner": {"rho": 1, "rhoo": 2}, "sizes": {}}, "params/x.yaml: model.inner.rhoo: unknown key for Inner"),
        ({"skips": [1], "inner": {}, "sizes": {}}, "params/x.yaml: model.inner.rho: missing (needed by Inner)"),
        ({"skips": 3, "inner": {"rho": 1}, "sizes": {}}, "params/x.yaml: model.skips: expected a list, got int"),
    ],
)
def test_a_bad_section_is_one_line_naming_file_and_key(data, message):
    with pytest.raises(InputError) as err:
        Outer.from_dict(data, "params/x.yaml", "model")
    assert str(err.value) == message


def test_every_paper_with_a_commands_module_is_a_group():
    modules = command_modules()
    assert {"hand", "data", "pipeline", "interhandgen", "digit"} <= set(modules)
    assert modules["digit"] == "handflow.papers.digit.commands"


def test_a_command_imports_only_its_own_group():
    probe = "\n".join(
        [
            "import sys",
            "from handflow.cli import build_parser",
            "build_parser(['digit'])",
            "print(sorted(m for m in sys.modules if m.endswith('.commands')))",
        ]
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['handflow.papers.digit.commands']"


EVALUATION_MODULES = [
    *(f"handflow.papers.{paper}.{m}" for paper in ("interhandgen", "affordance", "digit", "s2h") for m in ("evaluate", "report")),
    "handflow.papers.dhpc.scoring",
    "handflow.papers.dhpc.report",
]


def test_evaluations_and_reports_do_not_import_diffusers():
    """diffusers costs about 4 s of CPU per process (transformers, torch._dynamo): imported where a scheduler or network
    is built, never by the 25 stages that only read samples, judges and tables (handflow.diffusion's docstring)."""
    heavy = ("diffusers", "transformers")
    probe = f"import sys\nfor m in {EVALUATION_MODULES!r}: __import__(m)\nprint(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _table(a: Estimate, b: Estimate, better: str = "lower") -> ResultsTable:
    cols = [Column("err", "Error", better, "mm")]
    rows = [Row("ours", "Ours", {"err": a}, [Reported({"err": 12.5}, "paper Table 1, row Ours")]), Row("base", "Baseline", {"err": b})]
    claim = Claim("beats", "ours beats the baseline", "err", "ours", "base")
    return ResultsTable("P", "P: a table", {"data_source": "embedded", "scale": "smoke"}, cols, rows, "mean ± s.e.m.", [claim])


@pytest.mark.parametrize(
    ("ours", "base", "verdict"),
    [
        (Estimate(10.0, 0.5, 5), Estimate(14.0, 0.5, 5), HOLDS),  # gain 4 > 2 * 0.71
        (Estimate(10.0, 2.0, 5), Estimate(12.0, 2.0, 5), NOT_SHOWN),  # gain 2 < 2 * 2.83: noise
        (Estimate(14.0, 0.5, 5), Estimate(10.0, 0.5, 5), CONTRADICTED),
        (Estimate(10.0), Estimate(14.0), NOT_SHOWN),  # one run each: no noise to judge by
    ],
)
def test_a_claim_holds_only_beyond_its_noise(ours, base, verdict):
    claim = _table(ours, base).to_json()["claims"]["beats"]
    assert claim["verdict"] == verdict, claim


def test_the_table_labels_reported_values_with_their_source_and_never_writes_nan(tmp_path):
    table = _table(Estimate.of([10.0, 11.0, 12.0]), Estimate(float("nan")))
    data = table.write(tmp_path / "m.json", tmp_path / "t.md", tmp_path / "t.html")
    assert data["rows"]["ours"]["metrics"]["err"] == {"mean": 11.0, "se": pytest.approx(1 / 3**0.5), "n": 3, "std": 1.0}
    assert data["rows"]["base"]["metrics"]["err"] is None and "NaN" not in (tmp_path / "m.json").read_text()
    md = (tmp_path / "t.md").read_text()
    assert "| *Ours, reported (paper Table 1, row Ours)* | *12.5* |" in md and "| Baseline | n/a |" in md
    assert "Error (mm) ↓" in md and "data_source embedded, scale smoke" in md
    assert "<td>Ours, reported (paper Table 1, row Ours)</td>" in (tmp_path / "t.html").read_text()
    assert table.flat_metrics() == {"ours.err": 11.0}  # what the report stage logs: every value there is, none for the NaN


def test_provenance_is_the_same_fields_for_results_and_runs():
    """One spec per paper: the results' fields, the tags (read without recording) and the keys its rules declare."""
    from handflow.papers.dhpc.variants import PROVENANCE as DHPC
    from handflow.provenance import GLOBAL

    values = {"global.data_source": "embedded", "global.scale": "smoke", "global.seed": 0, "global.hand_model": "open"}
    assert GLOBAL.of(values.get) == {"data_source": "embedded", "scale": "smoke", "seed": "0", "hand_model": "open"}
    assert GLOBAL.params() == tuple(values)
    body = {"global.scale": "demo", "global.seed": 3, "dhpc.body_model": "models/SMPL_NEUTRAL.pkl"}
    assert DHPC.of(body.get) == {
        "data_source": "embedded (rendered bodies)",
        "scale": "demo",
        "seed": "3",
        "body_model": "smpl (SMPL_NEUTRAL.pkl)",
    }
    assert DHPC.of({**body, "dhpc.body_model": None}.get)["body_model"] == "anny"
    assert "global.data_source" not in DHPC.params()  # dhpc never reads InterHand2.6M: its rules do not declare the switch


def test_every_rule_names_the_conda_environment_file():
    """A file, not a named environment: Snakemake reads a file for its metadata, but asks conda itself about a name."""
    import re

    from conftest import REPO

    path = re.search(r'^CONDA_ENV = "(.+)"', (REPO / "workflow/rules/common.smk").read_text(), re.M)[1]
    assert (REPO / "workflow/rules" / path).resolve() == REPO / "environment.yml"
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        text = rules.read_text()
        assert text.count("    shell:") == text.count("    conda:\n        CONDA_ENV"), rules.name


def test_every_rule_whose_command_fixes_torch_threads_declares_them():
    """A command that fixes torch's threads (`global.threads`, handflow.stage) runs that many threads, so its rule must
    ask for that many: otherwise Snakemake runs it beside other jobs on cores it already uses, and SLURM gives it one
    CPU (`--cpus-per-task` comes from `threads`). Until 2026-12-06 fourteen rules (renders, packing, figures,
    reports) did not."""
    import importlib
    import re

    from conftest import REPO

    groups = {name: importlib.import_module(module).group for name, module in command_modules().items()}
    checked = 0
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        for block in re.split(r"^rule ", rules.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0]
            command = re.search(r'^\s+"python -m handflow (\S+) (\S+)', block, re.M)
            if command is None:
                continue
            group, stage = command.groups()
            declares = 'threads: P.get("global.threads")' in block
            assert declares == groups[group].commands[stage].torch_threads, f"rule {name}: `{group} {stage}`"
            checked += 1
    assert checked > 40

    """A rule asking `gpu=1` in the default `cpu` partition is refused by SLURM, or waits forever, on most clusters."""
    import re

    import yaml

    from conftest import REPO

    gpu_rules = set()
    for rules in (REPO / "workflow/rules").glob("*.smk"):
        for block in re.split(r"^rule ", rules.read_text(), flags=re.M)[1:]:
            if re.search(r"^\s+gpu=1,", block, re.M):
                gpu_rules.add(block.split(":", 1)[0])
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())["set-resources"]
    on_gpu = {rule for rule, res in profile.items() if res.get("slurm_partition") == "gpu"}
    assert len(gpu_rules) > 10
    assert gpu_rules == on_gpu
