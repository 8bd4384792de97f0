"""The `mho` command line: run a study from a config, cost a zoo network, list the zoo.

    mho run examples/configs/lenet5_mnist.yaml        # accuracy + cost + digital baseline
    mho sweep examples/configs/sweep_lenet5.yaml      # design points x chips on Dask, resumable
    mho cost --net resnet50 --array 256x256 --adc-bits 6
    mho zoo [--json]
    mho model-migrate data/models/*.h5                # add the integrity check to old model files

`mho COMMAND --help` documents each command's options; docs/design_schema.md is the schema of
configs and design files.
"""
import argparse
import json
import os
import sys

from . import _core


def _design(tile, system, digital, key, layers=None):
    """The hardware as data (Spec.from_dict(rec["design"]["tile"]) rebuilds the TileSpec) and
    its design key (mho.specs.study_design's: `mho run` and `mho sweep` give one design the
    same key); the 'hardware' reprs beside it are for reading. layers: the design's per-layer
    rules, written as the design file's `layers` list (config.layers_to_list)."""
    from . import config
    design = {"tile": tile.to_dict(), "system": system.to_dict(),
              "digital": digital.to_dict() if digital is not None else None}
    if layers:
        design["layers"] = config.layers_to_list(layers)
    return {"design": design, "design_key": key}


def _study_record(c, r, pim_cost, dig_cost, sweep):
    from . import config, cost, datasets, results, specs
    inputs = {"config": {"path": c["file"], "sha256": results.sha256_file(c["file"])},
              "model": {"path": c["model"], "sha256": results.sha256_file(c["model"])},
              "tech": {"path": c["tech_file"], "sha256": results.sha256_file(c["tech_file"]),
                       "node": c["tech"].node, "components": config.components_of(c["tech"])},
              "dataset": {"name": r.dataset,
                          "files": [{"path": os.fspath(p), "sha256": results.sha256_file(p)}
                                    for p in datasets.files(r.dataset)]}}
    rec = {
        "provenance": results.provenance(),
        "seed": c["seed"],
        "config": c["raw"],
        "inputs": inputs,
        "hardware": {"tile": repr(c["spec"]), "system": repr(c["system"]),
                     "digital": repr(c["digital"]) if c["digital"] is not None else None} | (
                        {"layers": r.spec} if c["layers"] else {}),
        **_design(c["spec"], c["system"], c["digital"], specs.design_key(config.study_design(c)), c["layers"]),
        "accuracy": {"model": r.model, "dataset": r.dataset, "test_images": r.test_samples,
                     "chips": r.chips, "float": r.float_accuracy, "pim_per_chip": r.pim_accuracies,
                     "pim_mean": r.mean, "pim_ci95": r.ci95, "drop": r.drop},
        "mapping": {"arrays": r.arrays, "utilization": r.utilization, "layers": r.pim.mapping.layers()},
        "cost": {"pim": cost.to_dict(pim_cost)},
    }
    if dig_cost is not None:
        rec["cost"]["digital"] = cost.to_dict(dig_cost)
        rec["cost"]["pim_over_digital"] = {f"{label} ({unit})": (get(pim_cost) / get(dig_cost) if get(dig_cost) else None)
                                           for label, unit, get, _ in cost.METRICS}
    if sweep:
        rec["sweep"] = {"param": c["sweep"]["param"], "values": c["sweep"]["values"],
                        "pim_mean": [s.mean for s in sweep], "pim_ci95": [s.ci95 for s in sweep]}
    return rec


# The tidy tables `mho run` writes beside its record (mho.tables), by file-name suffix.
TABLES = ("_chips", "_cost", "_layers")


def _tables(c, r, sweep, pim_cost, dig_cost):
    """{file suffix: DataFrame}: the chips of the config's design (point 0) and of the sweep's
    points (1, 2, ...), and the cost of point 0 on PIM and on the digital baseline."""
    from . import config, specs, sweep_config, tables
    points = [r]
    if sweep:
        param = c["sweep"]["param"]
        base = sweep_config.effective(c, (), param)
        r.parameter = {param: base if isinstance(base, (bool, int, float, str)) else None}
        points += sweep
    # Every row keyed by its whole design, system and tech included, as `mho sweep` keys it.
    for p in points:
        t = p.parameter.get("time_s") if sweep and c["sweep"]["param"] == "time_s" else None
        p.key = specs.design_key(config.study_design(c, _core.TileSpec.from_dict(p.design), t, p.layers))
    reports = [pim_cost] + ([dig_cost] if dig_cost is not None else [])
    designs = [{"point": 0}] * len(reports)
    return {"_chips": tables.chips_table(points), "_cost": tables.cost_table(reports, designs),
            "_layers": tables.layers_table(reports, designs)}


def run(config_path, out_dir=None, plots=None, progress=True, out=None):
    """Run the study a config file describes; print the report; write <name>.json, <name>.h5,
    the tidy tables <name>_chips, _cost and _layers (.csv and .h5, mho.tables) and PNG plots
    to the output folder as one result set (results.ResultSet: never a mix of two runs). The
    config is validated completely first. Returns the result record."""
    from . import config, cost, results, study, tables
    out = out or sys.stdout
    c = config.load(config_path)
    if out_dir is not None:
        c["out_dir"] = os.path.abspath(out_dir)
        problem = config.output_dir_problem(c["out_dir"])
        if problem:
            raise ValueError(f"--out {out_dir}: {problem}")
    if plots is not None:
        c["plots"] = plots
    os.makedirs(c["out_dir"], exist_ok=True)
    stem = os.path.join(c["out_dir"], c["name"])
    members = [stem + ".json", stem + ".h5"] + [stem + t + x for t in TABLES for x in (".csv", ".h5")]
    if c["plots"]:
        members.append(stem + "_cost.png")
        if c["sweep"]:
            members.append(stem + "_sweep.png")
    result_set = results.ResultSet(members)  # refuses a folder in a member's place, now
    r = study.evaluate(c["model"], spec=c["hardware"], chips=c["chips"], dataset=c["dataset"], batch=c["batch"],
                       calib_samples=c["calib_samples"], limit=c["test_images"], time_s=c["time_s"],
                       progress=progress, keep_pim=True)
    pim_cost = cost.measured(r.pim, system=c["system"], tech=c["tech"])
    dig_cost = cost.digital(r.pim.network, spec=c["digital"], tech=c["tech"]) if c["digital"] is not None else None
    print(r.report(), file=out)
    print(file=out)
    print(cost.table(pim_cost, dig_cost), file=out)
    sweep = None
    if c["sweep"]:
        sw = c["sweep"]
        sweep = study.sweep(c["model"], sw["param"], sw["values"], spec=c["hardware"], chips=sw["chips"],
                            dataset=c["dataset"], batch=c["batch"], calib_samples=c["calib_samples"],
                            limit=c["test_images"], progress=progress, float_accuracy=r.float_accuracy)
        print(file=out)
        print(f"accuracy sweep of {sw['param']} (same design otherwise):", file=out)
        print(study.sweep_table(sweep), file=out)
    rec = _study_record(c, r, pim_cost, dig_cost, sweep)
    rec["result_files"] = result_set.names
    tabs = _tables(c, r, sweep, pim_cost, dig_cost)
    with result_set as rs:
        results.write_json(rs.tmp(stem + ".json"), rec)
        results.write_h5(rs.tmp(stem + ".h5"), rec)
        if c["plots"]:
            cost.plot(pim_cost, dig_cost, rs.tmp(stem + "_cost.png"))
            if sweep:
                study.plot_sweep(sweep, rs.tmp(stem + "_sweep.png"))
        for suffix, df in tabs.items():
            tables.write_table(df, None, provenance=rec["provenance"],
                               paths=(rs.tmp(stem + suffix + ".csv"), rs.tmp(stem + suffix + ".h5")))
    print(file=out)
    print("written: " + ", ".join(_short(w) for w in result_set.finals), file=out)
    return rec


def _short(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _array(text):
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--array {text!r}: expected ROWSxCOLS, e.g. 256x256") from None
    return rows, cols


# The options that edit the tile: refused with a design file's per-layer rules, whose tiles
# were each built from the file's tile (which tile would an option edit?).
TILE_OPTIONS = ("array", "cell", "weight_bits", "bits_per_cell", "encoding", "subtract", "input_bits", "input_mode",
                "bits_per_plane", "signed_mode", "adc_bits", "columns_per_adc")


def _cost_design(a):
    """(TileSpec, PimSystemSpec, DigitalSpec or None, node, tech file or None) that `mho cost`
    costs: the default design (data/default_design.yaml), edited by --design FILE (a design
    file, docs/design_schema.md), then by each option given. a.layer_rules: the design
    file's per-layer rules (config.Design.layers), or None (left out of the record's command)."""
    from . import config
    d = config.default_design()
    spec, system, dig, node, tech_file = d["hardware"], d["system"], d["digital"], d["tech_node"], None
    a.tech_components = None
    a.layer_rules = None
    if a.design:
        try:
            des = config.design(a.design)
        except config.ConfigError as e:
            raise config.ConfigError(f"--design {a.design}: " + str(e).removeprefix(f"design {a.design}: ")) from None
        spec, system, dig, node = des.tile, des.system, des.digital, des.tech.node
        tech_file = des.tech.file
        a.tech_components = config.components_of(des.tech)  # the design's own figures, at any --node
        if a.net is None:  # --net wins
            a.net = des.network
        a.layer_rules = des.layers
        given = [o for o in TILE_OPTIONS if getattr(a, o) is not None]
        if des.layers and given:
            raise ValueError(f"--{given[0].replace('_', '-')}: the design file {a.design} has per-layer rules "
                             f"(layers), each tile built from its hardware section; edit the file's hardware or "
                             f"layers instead")
    if a.array is not None:
        spec = spec.replace(rows=a.array[0], cols=a.array[1])
    for opt, field in (("cell", "cell"), ("weight_bits", "weight_bits"), ("bits_per_cell", "bits_per_cell"),
                       ("encoding", "encoding"), ("subtract", "subtract")):
        if getattr(a, opt) is not None:
            spec = spec.replace(**{field: getattr(a, opt)})
    for opt, field in (("input_bits", "input_bits"), ("input_mode", "mode"), ("bits_per_plane", "bits_per_plane"),
                       ("signed_mode", "signed_mode")):
        if getattr(a, opt) is not None:
            spec = spec.replace(dac=spec.dac.replace(**{field: getattr(a, opt)}))
    for opt, field in (("adc_bits", "bits"), ("columns_per_adc", "columns_per_adc")):
        if getattr(a, opt) is not None:
            spec = spec.replace(adc=spec.adc.replace(**{field: getattr(a, opt)}))
    if a.input_bits is not None:  # the activations are the DAC's inputs, on both sides
        system = system.replace(activation_bits=a.input_bits)
        dig = dig.replace(bits=a.input_bits) if dig is not None else None
    if a.adc_type is not None:
        system = system.replace(adc_type=a.adc_type)
    if a.batch is not None:
        system = system.replace(batch=a.batch)
        dig = dig.replace(batch=a.batch) if dig is not None else None
    if a.no_pipeline:
        system = system.replace(pipeline_layers=False)
    if a.replication is not None:
        system = system.replace(**_replication(a.replication))
    if a.area_budget is not None:
        system = system.replace(area_budget_mm2=a.area_budget)
    if a.pe is not None and dig is not None:
        dig = dig.replace(pe_rows=a.pe[0], pe_cols=a.pe[1])
    if a.no_digital:
        dig = None
    return spec, system, dig, a.node or node, tech_file


def _replication(text):
    """--replication: 'auto', 'given' or copies per conv/linear layer, e.g. 16,16,4,4,2,1,1,8."""
    if text in ("auto", "given"):
        return {"replication": text, "layer_replication": []}
    try:
        copies = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--replication {text!r}: expected 'auto', 'given' or copies per conv/linear "
                         f"layer such as 16,16,4,4") from None
    return {"replication": "given", "layer_replication": copies}


def _cost(a, out=None):
    out = out or sys.stdout
    from . import config, cost, results, specs
    spec, system, dig, node, tech_file = _cost_design(a)
    if a.net is None:
        raise ValueError("mho cost: no network: give --net or a design file with a 'network' key")
    tech = cost.load_tech(node, a.tech or tech_file, a.tech_components)
    net = cost._network(a.net)
    try:
        hw = config.resolve_layers(net, a.layer_rules, spec)
        config.check_adcs(tech, system, a.layer_rules)
    except config.ConfigError as e:
        raise config.ConfigError(f"--design {a.design}: {e}") from None
    p = cost.pim(net, hw, system=system, tech=tech)
    d, note = None, None
    if dig is not None:
        dig, d, note = cost.normalized_digital(a.net, p, dig, a.normalize, tech=tech)
    edits = " and ".join(x for x in (f"--design {a.design}" if a.design else "", "the options given") if x)
    print(f"design costed, at {tech.node}: the default design (data/default_design.yaml) edited by {edits}", file=out)
    print(f"  PIM tile  {spec!r}", file=out)
    if not hw.uniform:
        print(f"  per-layer hardware (layers of {a.design}; every other conv/linear layer on the PIM tile):", file=out)
        for i in sorted(set(hw.layer_specs) | hw.digital):
            own = "digital (off the arrays: digital MACs)" if i in hw.digital else repr(hw.layer_specs[i])
            print(f"    {net.layer(i)['name']} (layer {i})  {own}", file=out)
    print(f"  system    {system!r}", file=out)
    print(f"  digital   {dig!r}" if dig is not None else "  digital   (none)", file=out)
    if note:
        print(f"  normalization: {note}; the ratios below compare these two designs", file=out)
    print(file=out)
    print(cost.table(p, d), file=out)
    cycle = max(p.layers, key=lambda l: l.latency_s) if p.layers else None
    if cycle is not None:
        copies = [l.replication for l in p.layers if l.arrays > 0]
        print(f"pipeline: copies per conv/linear layer {copies} ({system.replication}"
              f"{f', area budget {system.area_budget_mm2:g} mm2' if system.replication == 'auto' else ''}); "
              f"slowest layer {cycle.name}, {cycle.latency_s * 1e6:.4g} us", file=out)
    if a.layers:
        print(file=out)
        print(cost.layer_table(p), file=out)
    command = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(a).items() if k != "layer_rules"}
    rec = {"provenance": results.provenance(), "command": command,
           "hardware": {"tile": repr(spec), "system": repr(system), "node": tech.node} | (
               {"layers": {net.layer(i)["name"]: "digital" if i in hw.digital else repr(hw.layer_specs[i])
                           for i in sorted(set(hw.layer_specs) | hw.digital)}} if not hw.uniform else {}),
           **_design(spec, system, dig, specs.design_key(specs.study_design(
               hw.spec, results.sha256_file(a.net) if os.path.isfile(a.net) else f"zoo:{a.net}", None,
               system=system, tech={"node": tech.node, "sha256": results.sha256_file(tech.file)}, layers=hw.layers())),
               a.layer_rules),
           "inputs": {"tech": {"path": tech.file, "sha256": results.sha256_file(tech.file)}} | (
               {"model": {"path": a.net, "sha256": results.sha256_file(a.net)}} if os.path.isfile(a.net) else {}),
           "normalization": {"mode": a.normalize, "note": note},
           "cost": {"pim": cost.to_dict(p)} | ({"digital": cost.to_dict(d)} if d else {})}
    table_files = [a.tables + t + x for t in ("_cost", "_layers") for x in (".csv", ".h5")] if a.tables else []
    members = [f for f in (a.json, a.h5, a.plot) if f] + table_files
    if members:
        result_set = results.ResultSet(members)
        rec["result_files"] = result_set.names
        with result_set as rs:
            if a.json:
                results.write_json(rs.tmp(a.json), rec)
            if a.h5:
                results.write_h5(rs.tmp(a.h5), rec)
            if a.plot:
                cost.plot(p, d, rs.tmp(a.plot))
            if a.tables:
                from . import tables
                reports = [p] + ([d] if d is not None else [])
                for suffix, df in (("_cost", tables.cost_table(reports)), ("_layers", tables.layers_table(reports))):
                    tables.write_table(df, None, provenance=rec["provenance"],
                                       paths=(rs.tmp(a.tables + suffix + ".csv"), rs.tmp(a.tables + suffix + ".h5")))
        for f in result_set.finals:
            print(f"written: {_short(f)}", file=out)
    return rec


def _zoo(a, out=None):
    out = out or sys.stdout
    rows = []
    for name in _core.zoo_names():
        n = _core.zoo_network(name)
        rows.append({"name": name, "macs": n.total_macs, "weights": n.total_weights,
                     "input_shape": list(n.input_shape),
                     "layers": sum(1 for l in n.layers() if l["type"] in ("conv2d", "linear"))})
    if a.json:
        print(json.dumps(rows, indent=2), file=out)
        return rows
    print(f"{'name':14s} {'MACs':>16s} {'weights':>14s} {'conv/linear':>12s}  input", file=out)
    for r in rows:
        print(f"{r['name']:14s} {r['macs']:>16,d} {r['weights']:>14,d} {r['layers']:>12d}  "
              f"{'x'.join(map(str, r['input_shape']))}", file=out)
    return rows


def _migrate(a, out=None):
    out = out or sys.stdout
    from . import export
    for path in a.files:
        done = export.migrate(path)
        print(f"{path}: {'rewritten with an integrity block' if done else 'already has a valid integrity block'}",
              file=out)


def parser():
    ap = argparse.ArgumentParser(prog="mho", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a study from a YAML config: accuracy over chips, cost, digital baseline",
                       description="Run the study a YAML config describes (schema: docs/design_schema.md) "
                                   "and write the report as JSON, HDF5 and PNG.")
    r.add_argument("config", help="YAML config file")
    r.add_argument("--out", metavar="DIR", help="output folder (overrides output.dir)")
    r.add_argument("--no-plots", action="store_true", help="write no PNG files")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    w = sub.add_parser("sweep", help="a grid or list of design points x chips on Dask: accuracy and cost tables",
                       description="Run (or resume) the sweep a YAML config describes (schema: python -m pydoc "
                                   "mho.sweep_config) on an embedded Dask LocalCluster or an existing cluster, and "
                                   "write its accuracy and cost tables as CSV and HDF5. Running the same command "
                                   "again resumes from the sweep store. Exit status 1 if a task failed (its error "
                                   "is in the tables).")
    w.add_argument("config", help="YAML sweep config file")
    w.add_argument("--out", metavar="DIR", help="output folder (overrides output.dir)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    w.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the embedded cluster (default: one per core; 0: serial, in-process)")
    w.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    w.add_argument("--no-plots", action="store_true", help="write no PNG files")

    c = sub.add_parser("cost", help="energy, area, latency of a zoo network (shapes only, no weights)",
                       description="Cost of a zoo network on PIM arrays and on the digital baseline, from layer shapes.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    c.add_argument("--net", help=f"zoo network ({', '.join(_core.zoo_names())}) or model file "
                                 "(default: the design file's 'network')")
    c.add_argument("--design", metavar="YAML", help="design file: network and hardware / system / "
                                                  "tech / digital sections "
                                                  "(docs/design_schema.md); keys it leaves out, and the options "
                                                  "below when not given, take the default design "
                                                  "(data/default_design.yaml)")
    c.add_argument("--array", type=_array, help="array size ROWSxCOLS")
    c.add_argument("--cell", help=f"cell preset ({', '.join(_core.cell_preset_names())})")
    c.add_argument("--weight-bits", type=int)
    c.add_argument("--bits-per-cell", type=int)
    c.add_argument("--encoding", choices=["differential", "offset"])
    c.add_argument("--subtract", choices=["analog", "digital"])
    c.add_argument("--input-bits", type=int, help="DAC input bits (also activation width)")
    c.add_argument("--input-mode", choices=["bitserial", "multilevel"])
    c.add_argument("--bits-per-plane", type=int, help="bit-serial bits per plane")
    c.add_argument("--signed-mode", choices=["unsigned", "two_pass", "bipolar"])
    c.add_argument("--adc-bits", type=int)
    c.add_argument("--adc-type", help="ADC architecture in the tech table (sar, flash, sense_amp)")
    c.add_argument("--columns-per-adc", type=int)
    c.add_argument("--node", help="technology node in the tech table")
    c.add_argument("--tech", metavar="YAML", help="technology table (default data/tech.yaml)")
    c.add_argument("--batch", type=int)
    c.add_argument("--no-pipeline", action="store_true", help="layers one after another (throughput = 1/latency)")
    c.add_argument("--replication", metavar="auto|N,N,...",
                   help="weight duplication: 'auto' (balance the pipeline within --area-budget) or copies per "
                        "conv/linear layer in order")
    c.add_argument("--area-budget", type=float, metavar="MM2", help="chip area 'auto' replication may fill, mm2")
    c.add_argument("--pe", type=_array, help="digital baseline MAC array ROWSxCOLS")
    c.add_argument("--no-digital", action="store_true", help="skip the digital baseline")
    c.add_argument("--normalize", default="own", choices=["own", "iso-area", "iso-throughput"],
                   help="digital baseline as given (own), or its MAC array sized to the PIM chip's area "
                        "(iso-area) or throughput (iso-throughput)")
    c.add_argument("--json", metavar="FILE", help="write the result as JSON")
    c.add_argument("--h5", metavar="FILE", help="write the result as HDF5")
    c.add_argument("--plot", metavar="PNG", help="energy/area breakdown and utilization plot")
    c.add_argument("--layers", action="store_true",
                   help="print the per-layer energy, area and latency tables (per component, with units)")
    c.add_argument("--tables", metavar="STEM", help="write STEM_cost and STEM_layers (.csv and .h5, mho.tables)")

    z = sub.add_parser("zoo", help="the zoo networks with MACs and weights",
                       description="List the zoo networks (layer shapes only) with MACs and weights per inference.")
    z.add_argument("--json", action="store_true", help="print a JSON list of {name, macs, weights, ...}")
    i = sub.add_parser("info", help="the BLAS under mho: kernel, how it was chosen, self-check, GFLOP/s",
                       description="Which OpenBLAS kernel runs and why, its self-check, mho's threads, and "
                                   "measured float32 GFLOP/s against a rough CPU peak.")
    i.add_argument("--json", action="store_true", help="print the same as JSON")
    i.add_argument("--no-measure", action="store_true", help="skip the GFLOP/s measurement")
    v = sub.add_parser("validate", help="mho against published compute-in-memory macros (examples/published/)",
                       description="Cost every published macro's operating points (examples/published/*.yaml: "
                                   "design, citation, published figures) with mho's models and print mho against "
                                   "the published TOPS/W, TOPS and TOPS/mm2. Exit status 1 when any figure is "
                                   "more than 25 %% off. python -m pydoc mho.validate says what a macro counts.")
    v.add_argument("path", nargs="?", default=None, metavar="FILE_OR_FOLDER",
                   help="one published-macro file or a folder of them (default: examples/published)")
    v.add_argument("--json", action="store_true", help="print the rows as JSON")
    v.add_argument("--breakdown", action="store_true", help="also print mho's energy and area per component")
    v.add_argument("--plot", metavar="PNG", help="write mho / published per figure as a PNG (written atomically)")
    m = sub.add_parser("model-migrate", help="add the integrity check (SHA-256) to model files written before it",
                       description="Rewrite mho model files that have no integrity block with one, after checking "
                                   "that the rewritten file holds the same values. Files that already have a valid "
                                   "block are left as they are; a damaged file is an error and is not changed.")
    m.add_argument("files", nargs="+", metavar="FILE", help="mho model file (.h5)")
    return ap


def _sweep(a, out=None):
    out = out or sys.stdout
    from . import sweep
    r = sweep.run(a.config, out_dir=a.out, scheduler=a.scheduler, workers=a.workers, progress=not a.no_progress,
                  plots=False if a.no_plots else None)
    print(f"sweep: {r.tasks} tasks, {r.computed} run now, {r.tasks - r.computed} from the store, "
          f"{r.errors} errors", file=out)
    print("written: " + ", ".join(_short(f) for f in r.files), file=out)
    if r.errors:
        print(f"mho: {r.errors} tasks failed: see the status and error columns", file=sys.stderr)
    return 1 if r.errors else 0


def _validate(a):
    from . import validate
    rows = validate.run(a.path)
    if a.json:
        keep = ("macro", "point", "figure", "published", "mho", "error", "within", "cimloop_error_pct", "source")
        print(json.dumps([{k: r[k] for k in keep} for r in rows], indent=2))
    else:
        print(validate.table(rows))
        if a.breakdown:
            print(validate.breakdown(rows))
    if a.plot:
        print(f"written: {validate.plot(rows, a.plot)}", file=sys.stderr if a.json else sys.stdout)
    return 0 if all(r["within"] for r in rows) else 1


def _info(a):
    from . import blas
    if a.json:
        print(json.dumps(blas.info(not a.no_measure), indent=2))
    else:
        print(blas.report(not a.no_measure))


# What a user's input can cause (a bad key or value, a missing or unreadable file, a folder
# where a file belongs, YAML nested beyond Python's recursion limit, an unwritable output):
# one line naming the key or option, exit status 2. Anything else is a bug in mho and keeps
# its traceback.
USER_ERRORS = (ValueError, TypeError, OSError, RecursionError, MemoryError)


def _one_line(e):
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None and os.fspath(e.filename) not in text:
        text += f": {e.filename}"
    if isinstance(e, RecursionError):
        text = f"input nested too deeply ({text})"
    return text


def main(argv=None):
    try:
        a = parser().parse_args(argv)
        if a.command == "run":
            run(a.config, out_dir=a.out, plots=False if a.no_plots else None, progress=not a.quiet)
        elif a.command == "sweep":
            return _sweep(a)
        elif a.command == "cost":
            _cost(a)
        elif a.command == "validate":
            return _validate(a)
        elif a.command == "info":
            _info(a)
        elif a.command == "model-migrate":
            _migrate(a)
        else:
            _zoo(a)
    except KeyboardInterrupt:
        return 130  # interrupted by the user: the shell's convention, no traceback
    except BrokenPipeError:
        # The reader of our output went away (e.g. `mho zoo | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except USER_ERRORS as e:
        print(f"mho: error: {_one_line(e)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
