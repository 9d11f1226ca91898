# Params loading (validated against workflow/schemas; one line per error) and helpers shared by every rule.
import json
import sys
from pathlib import Path

from handflow.datasets.interhand.source import SOURCE_KEYS, raw_root
from handflow.errors import InputError
from handflow.params import DeclaredParams, load_params
from handflow.pipeline.deps import ImportCache, command_files
from handflow.provenance import GLOBAL

try:
    P = load_params(Path(workflow.basedir), valid_cache=Path(workflow.basedir) / ".snakemake" / "handflow_params_valid")
except InputError as exc:
    sys.exit(f"handflow: error: {exc}")

# What every results file records (handflow.provenance; a paper may have its own): a rule writing one declares these keys.
PROVENANCE = GLOBAL.params()
HAND_MODEL = "data/hand_model"  # the prepared hand model folder (rule hand_model)
# Every rule's software: environment.yml (the same pins as pyproject.toml, the project itself installed from the
# checkout), used when Snakemake deploys software with conda (`--software-deployment-method conda`); `make demo` and
# `make test` run the rules in .venv instead. The path is relative to the rule files.
CONDA_ENV = "../../environment.yml"
SRC = Path(workflow.basedir) / "src"
IMPORTS = ImportCache(Path(workflow.basedir) / ".snakemake" / "handflow_imports.json", frozen_files=True)


def par(*keys):
    """Params keys for `params:`: a changed value reruns the rule (and its DVC stage).

    Values are canonical JSON (sorted keys), so rewriting a params file without changing
    a value (reordered keys, a YAML round trip) reruns nothing. The keys are the dotted
    params keys, which `handflow pipeline dvc-yaml` turns into DVC `params:`; a command may
    read only what its rule declares (tests/test_layout.py, test_each_command_reads_only_what_its_rule_declares).
    """
    return DeclaredParams({key: json.dumps(value, sort_keys=True) for key, value in P.subset(*keys).items()})


def code_of(command):
    """Source files of the stage `module:function` (see handflow.pipeline.deps): root CLI, its command module, its handler's imports."""
    files = command_files(SRC, command, IMPORTS)
    IMPORTS.save()
    return sorted(str(f.relative_to(workflow.basedir)) for f in files)


# The InterHand2.6M tree the data stages read: generated, downloaded, or the user's copy. The rules reading
# it declare SOURCE_KEYS, and the commands check it against params (dvc.yaml may be older than params).
RAW_INTERHAND = raw_root(*(P.get(k) for k in SOURCE_KEYS))
