"""A config is validated completely before any work starts, and the `mho` command reports a
user's error as one line naming the key or option, exit status 2, never a traceback."""
import os
import subprocess
import sys

import pytest

import mho
from mho import cli, config

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LENET = os.path.join(ROOT, "data", "models", "lenet5_mnist.h5")

GOOD = """
model: MODEL
chips: 2
seed: 4
test_images: 100
calib_samples: 64
time_s: 100
hardware: {rows: 128, cols: 128, cell: rram_neurosim_22nm, weight_bits: 6,
           dac: {input_bits: 8, signed_mode: unsigned}, adc: {bits: 6, columns_per_adc: 8}}
system: {adc_type: sar}
tech: {node: 65nm}
digital: {pe_rows: 8, pe_cols: 8}
sweep: {param: adc.bits, values: [4, 6], chips: 1}
output: {dir: out}
"""


def write_config(tmp_path, text, name="study.yaml"):
    p = tmp_path / name
    p.write_text(text.replace("MODEL", LENET))
    return p


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if a study starts."""
    def refuse(*a, **k):
        raise AssertionError("a study started before the config was fully checked")
    monkeypatch.setattr(mho.study, "evaluate", refuse)
    monkeypatch.setattr(mho.study, "sweep", refuse)


def test_the_good_config_passes(tmp_path):
    c = config.load(write_config(tmp_path, GOOD))
    assert c["time_s"] == 100.0 and c["sweep"]["values"] == [4, 6]


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path):
    # YAML 1.1 (PyYAML) reads 1e2 as a string; configs read it as YAML 1.2 does, like specs.
    c = config.load(write_config(tmp_path, GOOD.replace("time_s: 100", "time_s: 1e2")))
    assert c["time_s"] == 100.0
    assert mho.from_yaml("cell: {g_max_S: 1e-4}", mho.TileSpec).cell.g_max_S == 1e-4


@pytest.mark.parametrize("edit, key", [
    (("adc_type: sar", "adc_type: pipeline"), "system.adc_type"),
    (("bits: 6, columns_per_adc", "bits: 12, columns_per_adc"), "hardware.adc.bits"),          # not in the tech table
    (("values: [4, 6]", "values: [4, 4.5]"), "sweep.values"),
    (("values: [4, 6]", "values: [4, 12]"), r"sweep.values\[1\]"),                   # not in the tech table
    (("values: [4, 6]", "values: [4, true]"), "sweep.values"),
    (("param: adc.bits, values: [4, 6]", "param: time_s, values: [0, .nan]"), "sweep.values"),
    (("param: adc.bits, values: [4, 6]", "param: time_s, values: [0, -1]"), "sweep.values"),
    (("param: adc.bits, values: [4, 6]", "param: time_s, values: [0, .inf]"), "sweep.values"),
    (("param: adc.bits, values: [4, 6]", "param: array, values: [64, 64.5]"), "sweep.values"),
    (("param: adc.bits, values: [4, 6]", "param: array, values: [64, 1]"), r"sweep.values\[1\]"),  # too small to map
    (("param: adc.bits, values: [4, 6]", "param: cell.read_sigma, values: [[.inf]]"), "sweep.values"),
    (("param: adc.bits", "param: adc.bitz"), "sweep.param"),
    (("time_s: 100", "time_s: .nan"), "time_s"),
    (("time_s: 100", "time_s: .inf"), "time_s"),
    (("time_s: 100", "time_s: -1"), "time_s"),
    (("time_s: 100", "time_s: true"), "time_s"),
    (("test_images: 100", "test_images: 1.5"), "test_images"),
    (("test_images: 100", "test_images: true"), "test_images"),
    (("calib_samples: 64", "calib_samples: .nan"), "calib_samples"),
    (("chips: 2", "chips: 1.5"), "chips"),
    (("seed: 4", "seed: 4.0"), "seed"),
    (("chips: 2", "chips: 2\ndataset: cifar10"), "dataset"),
    (("chips: 2", "chips: 2\ndataset: 7"), "dataset"),
    (("dac: {input_bits: 8", "dac: {input_bits: 8.5"), "hardware.dac.input_bits"),
    (("weight_bits: 6", "weight_bits: 6, read_noise: ~"), "hardware.read_noise"),
    (("pe_rows: 8", "pe_rows: 8.5"), "digital.pe_rows"),
    (("pe_rows: 8", "pe_rows: 8, glb_bytes: .inf"), "digital.glb_bytes"),
    (("output: {dir: out}", "output: {dir: out, plots: 1}"), "output.plots"),
    (("output: {dir: out}", "output: {dir: out, name: .hidden}"), "output.name"),
])
def test_every_key_is_checked_before_work_starts(tmp_path, no_work, edit, key):
    p = write_config(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ValueError, match=f"config key '{key}'"):
        cli.run(p, progress=False)
    assert not (tmp_path / "out").exists()


def test_dataset_files_must_exist(tmp_path, monkeypatch, no_work):
    monkeypatch.setenv("MHO_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="config key 'dataset'"):
        config.load(write_config(tmp_path, GOOD.replace("tech: {node: 65nm}", f"tech: {{node: 65nm, file: {ROOT}/data/tech.yaml}}")))


def test_tech_file_and_model_must_be_regular_files(tmp_path, no_work):
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="config key 'tech.file'"):
        config.load(write_config(tmp_path, GOOD.replace("tech: {node: 65nm}", "tech: {node: 65nm, file: folder}")))
    os.mkfifo(tmp_path / "fifo.yaml")  # opening it would block for ever
    with pytest.raises(ValueError, match="config key 'tech.file'.*not a regular file"):
        config.load(write_config(tmp_path, GOOD.replace("tech: {node: 65nm}", "tech: {node: 65nm, file: fifo.yaml}")))
    with pytest.raises(IsADirectoryError, match="config key 'model'"):
        config.load(write_config(tmp_path, GOOD.replace(LENET, str(tmp_path / "folder")).replace("MODEL", str(tmp_path / "folder"))))
    with pytest.raises(ValueError, match="tech table .*not a regular file"):
        mho.TechTable.load(str(tmp_path / "folder"), "22nm")


def test_output_dir_must_be_writable_before_the_run(tmp_path, no_work):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="config key 'output.dir'.*is not a directory"):
        config.load(write_config(tmp_path, GOOD.replace("output: {dir: out}", "output: {dir: afile/sub}")))
    with pytest.raises(ValueError, match="--out .*afile.*is not a directory"):
        cli.run(write_config(tmp_path, GOOD), out_dir=tmp_path / "afile", progress=False)


def test_deep_nesting_is_a_config_error(tmp_path, no_work):
    p = tmp_path / "deep.yaml"
    p.write_text("model: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ValueError, match="nested too deeply|not valid YAML"):
        config.load(p)


def mho_cmd(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "mho", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mho: error: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_cli_user_errors_are_one_line_with_status_2(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    one_line_error(mho_cmd("run", str(write_config(tmp_path, GOOD.replace("adc_type: sar", "adc_type: pipe")))),
                   "system.adc_type", "pipe")
    one_line_error(mho_cmd("run", str(write_config(tmp_path, GOOD.replace("tech: {node: 65nm}", "tech: {node: 65nm, file: folder}")))),
                   "tech.file", "directory")
    deep = tmp_path / "deep.yaml"
    deep.write_text("model: " + "[" * 5000 + "]" * 5000 + "\n")
    one_line_error(mho_cmd("run", str(deep)))
    one_line_error(mho_cmd("run", str(write_config(tmp_path, GOOD)), "--out", str(tmp_path / "afile")), "--out")
    one_line_error(mho_cmd("run", str(tmp_path / "folder")), "directory")
    one_line_error(mho_cmd("run", str(tmp_path / "missing.yaml")), "not found")
    one_line_error(mho_cmd("cost", "--net", "lenet5", "--tech", str(tmp_path / "folder")), "directory")
    one_line_error(mho_cmd("cost", "--net", "lenet5", "--json", str(tmp_path / "nodir" / "x.json")), "does not exist")
    one_line_error(mho_cmd("cost", "--net", "lenet5", "--json", str(tmp_path / "folder")), "directory")
    one_line_error(mho_cmd("cost", "--net", "lenet5", "--adc-type", "pipe"), "pipe")
    assert not any(n.startswith(".mho-tmp-") for n in os.listdir(tmp_path))


def test_keyboard_interrupt_exits_130_quietly(monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run", interrupted)
    assert cli.main(["run", "x.yaml"]) == 130
    assert capsys.readouterr().err == ""


def test_internal_bugs_keep_their_traceback(monkeypatch):
    def bug(*a, **k):
        raise AssertionError("a bug in mho")
    monkeypatch.setattr(cli, "_zoo", bug)
    with pytest.raises(AssertionError):
        cli.main(["zoo"])
