"""Tidy result tables: one row per design x chip, per cost report, per report x layer.

    r = mho.study.evaluate(model, spec=spec, chips=5)
    chips = mho.tables.chips_table(r)                 # pandas.DataFrame
    mho.tables.write_table(chips, "out/lenet_chips")  # out/lenet_chips.csv and .h5
    df, meta = mho.tables.read_table("out/lenet_chips.h5")

Columns are snake_case with the unit as a suffix (`_J`, `_s`, `_mm2`, `_m2`); `accuracy`,
`float_accuracy`, `accuracy_drop` and `utilization` are fractions; counts are plain numbers.
`units(columns)` gives the unit of each column that has one; write_table stores it.

Files. Both hold the same rows and metadata {"format", "provenance" (mho.results.provenance()),
"columns" (in order), "dtypes", "units", "meta"}, and are written as one result set
(mho.results.ResultSet: each atomically, replaced together):
- `STEM.h5`: a PyTables table under the key "rows" (`pandas.read_hdf(path)` reads it);
  the metadata is the JSON text of the table node's attribute `mho_table`.
- `STEM.csv`: line 1 is `# mho-table ` followed by the metadata as one line of JSON; then a
  plain CSV (header row, no index). Readers other than read_table skip line 1, e.g.
  `pandas.read_csv(path, skiprows=1)`.
Floats survive both exactly (the CSV holds the shortest repr, read back with Python's
parser); a missing number is an empty CSV field and NaN in memory. String columns may not
hold missing values (an empty string is a value), and the index is not stored: give a
table with the default RangeIndex.
"""
import hashlib
import io
import json
import math
import os

import numpy as np

from . import _util, results

TABLE_KEY = "rows"
CSV_MARK = "# mho-table "
FORMAT = 1
SUFFIXES = (".csv", ".h5")

# Units of the columns the tables of this module hold; other columns get theirs from the
# name's suffix (UNIT_SUFFIXES), or none (counts, names, parameters).
UNITS = {
    "accuracy": "fraction", "float_accuracy": "fraction", "accuracy_drop": "fraction",
    "utilization": "fraction", "tops": "TOPS", "tops_per_w": "TOPS/W",
    "tops_per_mm2": "TOPS/mm2", "throughput_inferences_per_s": "inferences/s",
    "macs_per_inference": "MACs",
}
UNIT_SUFFIXES = (("_mm2", "mm2"), ("_m2", "m2"), ("_J", "J"), ("_s", "s"), ("_W", "W"),
                 ("_S", "S"), ("_V", "V"), ("_A", "A"))


def units(columns):
    """{column: unit} for the columns whose unit is known (UNITS, then the name's suffix)."""
    out = {}
    for c in columns:
        if c in UNITS:
            out[c] = UNITS[c]
            continue
        for suffix, unit in UNIT_SUFFIXES:
            if c.endswith(suffix) and len(c) > len(suffix):
                out[c] = unit
                break
        else:
            if c.endswith("_per_inference"):
                out[c] = "count"
    return out


def _list(items, what, cls):
    """One item or a non-empty list/tuple of them, every one of type `cls`."""
    if isinstance(items, cls):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{what}: expected a {cls.__name__} or a list of them, got {type(items).__name__}")
    if not items:
        raise ValueError(f"{what}: the list is empty; give at least one {cls.__name__}")
    for i, r in enumerate(items):
        if not isinstance(r, cls):
            raise TypeError(f"{what}[{i}]: expected a {cls.__name__}, got {type(r).__name__}")
    return list(items)


def design_key(result):
    """The design key of a StudyResult: its `key` (mho.specs.study_design's key) when it has
    one, else mho.specs.design_key of its `design` dict, else the first 16 hex digits of the
    SHA-256 of its spec repr (results made by hand: these keys of one design differ)."""
    if getattr(result, "key", ""):
        return result.key
    design = getattr(result, "design", None)
    if design:
        from . import specs
        return specs.design_key(design)
    return hashlib.sha256(str(result.spec).encode("utf-8")).hexdigest()[:16]


def _per_inference(name):
    """A counter's column name: `cell_reads` -> `cell_reads_per_inference`, `cell_energy_J`
    -> `cell_energy_per_inference_J` (the unit stays last)."""
    for suffix, _ in UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)] + "_per_inference" + suffix
    return name + "_per_inference"


def chips_table(results_):
    """One row per design x chip from a StudyResult or a list of them: point (the result's
    index in the list), design_key, the result's `parameter` columns, chip, accuracy,
    float_accuracy, accuracy_drop (float - chip accuracy, a fraction), test_images, model,
    dataset, arrays, utilization and the per-inference action counters."""
    import pandas as pd
    from .study import StudyResult
    items = _list(results_, "results", StudyResult)
    fixed = {"point", "design_key", "chip", "accuracy", "float_accuracy", "accuracy_drop",
             "test_images", "model", "dataset", "arrays", "utilization"}
    rows, params, counters = [], [], []
    for point, r in enumerate(items):
        for k in r.parameter:
            if k in fixed:
                raise ValueError(f"results[{point}].parameter: {k!r} is also a column of the table")
            if k not in params:
                params.append(k)
        for k in r.counters_per_inference:
            if _per_inference(k) not in counters:
                counters.append(_per_inference(k))
        key = design_key(r)
        per = {_per_inference(k): float(v) for k, v in r.counters_per_inference.items()}
        for chip, acc in enumerate(r.pim_accuracies):
            rows.append({"point": point, "design_key": key, **r.parameter, "chip": chip,
                         "accuracy": float(acc), "float_accuracy": float(r.float_accuracy),
                         "accuracy_drop": float(r.float_accuracy) - float(acc),
                         "test_images": int(r.test_samples), "model": r.model, "dataset": r.dataset,
                         "arrays": int(r.arrays), "utilization": float(r.utilization), **per})
    columns = (["point", "design_key"] + params + ["chip", "accuracy", "float_accuracy", "accuracy_drop",
               "test_images", "model", "dataset", "arrays", "utilization"] + counters)
    return pd.DataFrame(rows, columns=columns)


def _reports(reports):
    from ._core import CostReport
    return _list(reports, "reports", CostReport)


def _designs(designs, n):
    """Leading columns per report: None, or a list of n dicts {column: value}."""
    if designs is None:
        return [{}] * n
    if not isinstance(designs, (list, tuple)) or len(designs) != n:
        raise ValueError(f"designs: expected a list of {n} dicts (one per report), got "
                         f"{type(designs).__name__}{' of length ' + str(len(designs)) if hasattr(designs, '__len__') else ''}")
    for i, d in enumerate(designs):
        if not isinstance(d, dict):
            raise TypeError(f"designs[{i}]: expected a dict of column values, got {type(d).__name__}")
    return list(designs)


def _union(dicts):
    """The keys of `dicts` in first-seen order."""
    return list(dict.fromkeys(k for d in dicts for k in d))


def cost_table(reports, designs=None):
    """One row per CostReport (mho.cost.pim/digital/measured): system, network, batch,
    macs_per_inference, the energy per inference (total and one energy_<part>_J per part),
    energy_per_batch_J, the area (total and one area_<part>_mm2 per part; a part another
    report has and this one lacks is 0), latency_s,
    throughput_inferences_per_s, tops, tops_per_w, tops_per_mm2, utilization.
    designs: optional list of dicts, one per report, whose items become leading columns
    (e.g. {"point": 3, "design_key": ..., "adc.bits": 6})."""
    import pandas as pd
    reps = _reports(reports)
    lead = _designs(designs, len(reps))
    rows, energy, area = [], {}, {}
    for i, (r, d) in enumerate(zip(reps, lead)):
        e = {f"energy_{k}_J": float(v) for k, v in r.energy_J}
        a = {f"area_{k}_mm2": float(v * 1e6) for k, v in r.area_m2}
        row = {"system": r.system, "network": r.network, "batch": int(r.batch),
               "macs_per_inference": int(r.macs), "energy_total_per_inference_J": float(r.energy_total_J),
               **e, "energy_per_batch_J": float(r.energy_per_batch_J),
               "area_total_mm2": float(r.area_total_m2 * 1e6), **a,
               "latency_s": float(r.latency_s), "throughput_inferences_per_s": float(r.throughput_per_s),
               "tops": float(r.tops), "tops_per_w": float(r.tops_per_w),
               "tops_per_mm2": float(r.tops_per_mm2), "utilization": float(r.utilization)}
        both = sorted(row.keys() & d.keys())
        if both:
            raise ValueError(f"designs[{i}]: {both} are also cost columns")
        energy.update(dict.fromkeys(e))
        area.update(dict.fromkeys(a))
        rows.append({**d, **row})
    columns = (_union(lead) + ["system", "network", "batch", "macs_per_inference", "energy_total_per_inference_J",
               *energy, "energy_per_batch_J", "area_total_mm2", *area, "latency_s",
               "throughput_inferences_per_s", "tops", "tops_per_w", "tops_per_mm2", "utilization"])
    df = pd.DataFrame(rows, columns=columns)
    # A part one report lacks (the digital baseline has no ADCs) spends nothing there: 0.
    parts = [*energy, *area]
    df[parts] = df[parts].fillna(0.0)
    return df


def layers_table(reports, designs=None):
    """One row per report x layer: report (the report's index), the designs' columns (as in
    cost_table), system, network, layer, name, kind, macs_per_inference, arrays, replication
    (copies of the layer's arrays; 0 off tiles), utilization, energy_per_inference_J,
    latency_s, then the PIM breakdowns: energy_<part>_J, area_<part>_mm2 (the layer's arrays
    and their periphery) and latency_<part>_s per component (0 where a layer or system has no
    such part)."""
    import pandas as pd
    reps = _reports(reports)
    lead = _designs(designs, len(reps))
    rows, parts = [], {}
    for i, (r, d) in enumerate(zip(reps, lead)):
        for l in r.layers:
            breakdown = {**{f"energy_{k}_J": float(v) for k, v in l.energy_by_component_J},
                         **{f"area_{k}_mm2": float(v * 1e6) for k, v in l.area_by_component_m2},
                         **{f"latency_{k}_s": float(v) for k, v in l.latency_by_component_s}}
            parts.update(dict.fromkeys(breakdown))
            rows.append({"report": i, **d, "system": r.system, "network": r.network,
                         "layer": int(l.layer), "name": l.name, "kind": l.kind,
                         "macs_per_inference": int(l.macs), "arrays": int(l.arrays),
                         "replication": int(l.replication),
                         "utilization": float(l.utilization), "energy_per_inference_J": float(l.energy_J),
                         "latency_s": float(l.latency_s), **breakdown})
    order = sorted(parts, key=lambda c: ("energy_", "area_", "latency_").index(c[:c.index("_") + 1]))
    cols = ["report", *_union(lead), "system", "network", "layer", "name", "kind", "macs_per_inference",
            "arrays", "replication", "utilization", "energy_per_inference_J", "latency_s", *order]
    df = pd.DataFrame(rows, columns=cols)
    df[order] = df[order].fillna(0.0)
    return df


# --- files --------------------------------------------------------------------------------

def _dtype_name(df, c):
    """The stored dtype of column c: int*/uint*, float64, bool or str; anything else is refused."""
    s = df[c]
    kind = s.dtype.kind
    if kind in "iu" or s.dtype == np.float64 or kind == "b":
        return str(s.dtype)
    if kind == "O":
        bad = [v for v in s if not isinstance(v, str)]
        if bad:
            v = bad[0]
            what = "a missing value" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{type(v).__name__} {v!r}"
            raise TypeError(f"column {c!r}: an object column holds {what}; only strings are stored "
                            f"as objects (an empty string for none)")
        nul = [v for v in s if "\x00" in v]
        if nul:
            raise ValueError(f"column {c!r}: the string {nul[0]!r} holds a NUL character, which HDF5 cannot store")
        return "str"
    raise TypeError(f"column {c!r}: dtype {s.dtype} is not storable; use int64, float64, bool or str")


def _checked(df):
    """The table's column dtypes, after checking that it can round-trip exactly."""
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: expected a pandas.DataFrame, got {type(df).__name__}")
    if not all(isinstance(c, str) and c for c in df.columns):
        raise TypeError(f"df: column names must be non-empty strings, got {list(df.columns)!r}")
    if df.columns.duplicated().any():
        raise ValueError(f"df: duplicate column names {sorted(set(df.columns[df.columns.duplicated()]))}")
    if not df.index.equals(pd.RangeIndex(len(df))):
        raise ValueError("df: the index is not stored; give a table with the default index (df.reset_index(drop=True))")
    return {c: _dtype_name(df, c) for c in df.columns}


def _metadata(df, provenance, meta):
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta: expected a dict or None, got {type(meta).__name__}")
    dtypes = _checked(df)
    return {"format": FORMAT, "provenance": provenance if provenance is not None else results.provenance(),
            "columns": list(dtypes), "dtypes": dtypes, "units": units(df.columns), "meta": meta or {}}


def _json_line(metadata):
    # ensure_ascii: no newline or control character of a value can break the header line.
    return json.dumps(metadata, sort_keys=True, allow_nan=False, ensure_ascii=True)


def _nan_rep(df, dtypes):
    """A marker for missing strings (never used: string columns have none) that equals no
    value of the table, since PyTables would read such a value back as NaN."""
    values = set()
    for c, t in dtypes.items():
        if t == "str":
            values.update(df[c])
    rep = "%missing%"
    while rep in values:
        rep += "%"
    return rep


def write_csv(df, path, metadata):
    with _util.atomic_file(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(CSV_MARK + _json_line(metadata) + "\n")
            df.to_csv(f, index=False, lineterminator="\n")
    return os.path.abspath(os.fspath(path))


def write_h5(df, path, metadata):
    import pandas as pd
    with _util.atomic_file(path) as tmp:
        # pandas stores no table at all for an empty frame (it has no dtypes to write):
        # one placeholder row sets them, then is removed.
        data = df if len(df) else pd.DataFrame(
            {c: pd.Series(["" if t == "str" else df[c].dtype.type(0)], dtype=df[c].dtype)
             for c, t in metadata["dtypes"].items()})[list(df.columns)]
        with pd.HDFStore(tmp, mode="w") as store:
            store.put(TABLE_KEY, data, format="table", nan_rep=_nan_rep(df, metadata["dtypes"]))
            storer = store.get_storer(TABLE_KEY)
            if not len(df):
                storer.table.remove_rows(0, 1)
            storer.attrs.mho_table = _json_line(metadata)
    return os.path.abspath(os.fspath(path))


def write_table(df, path_stem, provenance=None, meta=None, paths=None):
    """Write `df` to STEM.csv and STEM.h5 as one result set (both replaced together, never
    half-written), with provenance (default mho.results.provenance()), units and `meta` (a
    JSON-able dict). paths: (csv_path, h5_path) to write instead of the stem's. Returns
    the two absolute paths."""
    if paths is None:
        if not isinstance(path_stem, (str, os.PathLike)):
            raise TypeError(f"path_stem: expected a path, got {type(path_stem).__name__}")
        stem = os.fspath(path_stem)
        if os.path.splitext(stem)[1] in SUFFIXES:
            raise ValueError(f"path_stem = {stem!r}: give the name without .csv/.h5 (both are written)")
        paths = (stem + ".csv", stem + ".h5")
    elif len(paths) != 2 or [os.path.splitext(os.fspath(p))[1] for p in paths] != list(SUFFIXES):
        raise ValueError(f"paths = {paths!r}: expected (a .csv path, a .h5 path)")
    metadata = _metadata(df, provenance, meta)
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"provenance/meta: must be JSON data (no NaN): {e}") from None
    # One result set: a failure in either file leaves the previous pair as it was.
    with results.ResultSet(paths) as rs:
        write_csv(df, rs.tmp(paths[0]), metadata)
        write_h5(df, rs.tmp(paths[1]), metadata)
    return tuple(rs.finals)


def _restore(metadata, path):
    ok = (isinstance(metadata, dict) and metadata.get("format") == FORMAT
          and isinstance(metadata.get("dtypes"), dict) and isinstance(metadata.get("columns"), list)
          and sorted(metadata["columns"]) == sorted(metadata["dtypes"]))
    if not ok:
        raise ValueError(f"{path}: not an mho table (format {FORMAT}) or its metadata is damaged")
    return metadata


def read_csv(path):
    import pandas as pd
    with open(path, encoding="utf-8", newline="") as f:
        first = f.readline()
        if not first.startswith(CSV_MARK):
            raise ValueError(f"{path}: line 1 is not an mho table header ({CSV_MARK.strip()!r})")
        try:
            metadata = _restore(json.loads(first[len(CSV_MARK):]), path)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: the header line is not valid JSON ({e})") from None
        body = f.read()
    dtypes = {c: metadata["dtypes"][c] for c in metadata["columns"]}
    # Strings keep '' as a value; only numeric columns read an empty field as NaN.
    df = pd.read_csv(io.StringIO(body), dtype={c: (str if t == "str" else t) for c, t in dtypes.items()},
                     keep_default_na=False, na_values={c: [""] for c, t in dtypes.items() if t != "str"},
                     float_precision="round_trip")
    if list(df.columns) != metadata["columns"]:
        raise ValueError(f"{path}: columns {list(df.columns)} differ from the header's {list(dtypes)}")
    return df, metadata


def read_h5(path):
    import pandas as pd
    with pd.HDFStore(os.fspath(path), mode="r") as store:
        if "/" + TABLE_KEY not in store.keys():
            raise ValueError(f"{path}: no mho table (key {TABLE_KEY!r}) in this HDF5 file")
        storer = store.get_storer(TABLE_KEY)
        text = getattr(storer.attrs, "mho_table", None)
        if text is None:
            raise ValueError(f"{path}: the table has no mho_table metadata")
        metadata = _restore(json.loads(text), path)
        df = store[TABLE_KEY].reset_index(drop=True)
    return df, metadata


def read_table(path):
    """(DataFrame, metadata) of a table written by write_table, from its .csv or .h5 file;
    metadata = {"format", "provenance", "columns" (in order), "dtypes", "units", "meta"}."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a .csv or .h5 path, got {type(path).__name__}")
    p = os.fspath(path)
    suffix = os.path.splitext(p)[1]
    if suffix not in SUFFIXES:
        raise ValueError(f"path = {p!r}: unknown suffix {suffix!r}; expected one of {', '.join(SUFFIXES)}")
    if not os.path.isfile(p):
        raise FileNotFoundError(f"table: no such file: {p}")
    return read_csv(p) if suffix == ".csv" else read_h5(p)
