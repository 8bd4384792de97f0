"""Tech table files: what YAML readers disagree on is rejected (duplicate keys, tags), bit
widths are integers listed once, deep nesting is an error, only regular files are read."""
import os
import signal
from pathlib import Path

import pytest

import mho
import mho.cost

TECH = (Path(__file__).resolve().parents[2] / "data" / "tech.yaml").read_text()


def load(tmp_path, text, node="22nm"):
    p = tmp_path / "tech.yaml"
    p.write_text(text)
    return mho.cost.load_tech(node, p)


@pytest.mark.parametrize("old, new, message", [
    ("  22nm:\n    node_nm: 22\n", "  22nm:\n    node_nm: 22\n    node_nm: 65\n", "nodes.22nm: key 'node_nm' appears twice"),
    ("area_um2:  [2771, 2771, 2771, 2771, 2807, 3195, 4051, 5136,",
     "area_um2:  [2771, 2771, 2771, 2771, 2807, 3195, 4051, !!binary 5136,",
     r"nodes.22nm.adc.sar.area_um2\[7\]: YAML tag 'tag:yaml.org,2002:binary' is not allowed"),
    ("bits:      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "bits:      [1, 2, 3, 4, 5, 6, 7, 8, 9, 9223372036854775808]",
     r"nodes.22nm.adc.sar.bits\[9\]: 9.2\d*e\+18: must be a finite number in \[0, 1e\+15\]"),
    ("bits:      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "bits:      [1, 2, 3, 4, 5, 6, 7, 8, 9, 9]",
     r"nodes.22nm.adc.sar.bits\[9\]: 9: listed twice"),
    ("bits: [8, 16, 32]", "bits: [8, 16.5, 32]", r"reference_45nm.add.bits\[1\]: 16.5: must be a whole number of bits"),
    ("version: 1\n", "version: 1\n" + "[" * 5000 + "]" * 5000 + ": 1\n", "tech table .*tech.yaml: "),
])
def test_ambiguous_text_is_rejected(tmp_path, old, new, message):
    assert old in TECH
    with pytest.raises(ValueError, match=message):
        load(tmp_path, TECH.replace(old, new, 1))


def test_a_list_where_a_mapping_belongs_is_a_value_error(tmp_path):
    # Found by tech_table_fuzzer: listing the node names escaped as a yaml-cpp exception.
    with pytest.raises(ValueError, match="nodes: must map node names to tables"):
        load(tmp_path, "version: 1\nnodes:\n - 22nm:\n    node_nm: 22\n")


def test_the_shipped_table_loads(tmp_path):
    assert load(tmp_path, TECH).adc_bits("sar") == list(range(1, 11))


def test_only_regular_files_are_read(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, expected a file"):
        mho.cost.load_tech("22nm", tmp_path)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    signal.alarm(20)  # an ordinary open of a FIFO without a writer would wait for ever
    try:
        with pytest.raises(ValueError, match="fifo.yaml.*is not a regular file"):
            mho.cost.load_tech("22nm", fifo)
    finally:
        signal.alarm(0)
    with pytest.raises(FileNotFoundError):
        mho.cost.load_tech("22nm", tmp_path / "none.yaml")
