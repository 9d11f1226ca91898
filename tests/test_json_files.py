"""Results files read in the form their reader declares: one line naming the file and the place, never NaN."""

from __future__ import annotations

import json
import math

import pytest

from handflow.errors import InputError
from handflow.storage.json_files import NUMBER_OR_NULL, POSITIVE, TEXT, gather, listing, mapping, read_json, record, when, write_json

SCHEMA = {
    "allOf": [
        record(row=TEXT, n=POSITIVE, metrics=mapping(record(values=listing(NUMBER_OR_NULL)))),
        when("row", "judged", record(judge=TEXT)),
    ]
}


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path


def test_a_file_in_the_declared_form_reads_and_what_write_json_writes_reads_back(tmp_path):
    doc = {"row": "full", "n": 2, "metrics": {"fid": {"values": [1.0, None]}}, "other": "kept"}
    write_json(tmp_path / "a.json", doc)
    assert read_json(tmp_path / "a.json", SCHEMA) == doc


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"n": 0}, "n", "0 is less than the minimum of 1"),
        ({"n": 2.5}, "n", "2.5 is not of type 'integer'"),
        ({"metrics": {"fid": {"values": ["x"]}}}, "metrics/fid/values/0", "'x' is not of type 'number', 'null'"),
        ({"metrics": {"fid": {"values": []}}}, "metrics/fid/values", "should be non-empty"),
        ({"row": "judged"}, None, "'judge' is a required property"),  # a row's own fields
    ],
)
def test_each_departure_is_one_line_naming_its_place(tmp_path, change, field, problem):
    doc = {"row": "full", "n": 2, "metrics": {"fid": {"values": [1.0]}}} | change
    with pytest.raises(InputError) as err:
        read_json(_write(tmp_path / "a.json", doc), SCHEMA)
    assert err.value.field == field and problem in err.value.problem and "\n" not in str(err.value)


def test_nan_and_infinity_are_refused_where_a_form_is_declared(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"row": "full", "n": 2, "metrics": {"fid": {"values": [NaN]}}}')
    with pytest.raises(InputError, match="NaN in a results file"):
        read_json(path, SCHEMA)
    assert math.isnan(read_json(path)["metrics"]["fid"]["values"][0])  # without a form: Python's JSON, NaN included


def test_gather_names_the_file_without_its_row_and_the_rows_missing(tmp_path):
    good = {"row": "full", "n": 2, "metrics": {}}
    a, b = _write(tmp_path / "a.json", good), _write(tmp_path / "b.json", good | {"row": 3})
    with pytest.raises(InputError, match=r"b\.json: row: missing \(or not text\)"):
        gather([a, b], "row", ["full"])
    with pytest.raises(InputError, match="row: no file for gt among the inputs"):
        gather([a], "row", ["full", "gt"], SCHEMA)
