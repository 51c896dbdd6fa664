"""``mlops schema``: curate a pipeline's TFDV schema (and its GE suite) from the data.

The inferred schema SchemaGen writes on every run has no value ranges, so a file with
``alcohol = -1000`` passes. A curated one states what the data may hold:

* categorical features (and a classification label): the observed values as a string domain
  (an integer label: its observed min..max);
* numeric features (and a regression label): the observed min/max widened by ``margin`` times
  the observed range on each side (``--margin``, default 0.1), as a float or int domain;
* presence: required (``min_fraction: 1``, fixed shape) when every row ingest writes has the
  column (rows missing it are dropped, or none misses it), optional for a feature with
  ``missing: impute`` (the model fills it in; see :func:`required_after_ingest`).

The schema and the Great Expectations suite derived from it (:mod:`components.ge_validation.suite`)
go into the config's schema folder, and the config's ``schema.path`` and
``validation.expectation_suite`` point at them. Run again on new data, it compares instead of
overwriting: values outside a curated range, new categories, new missing values, added or removed
columns are listed, and only ``--update`` writes (ranges widened, categories added, hand edits
kept where the data fits them). Pure functions over protos and DataFrames; :func:`main` is the
CLI adapter.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path


#: Default margin: the curated range is the observed one widened by this times its width, each side.
DEFAULT_MARGIN = 0.1
from pipelines.exit_codes import SCHEMA_DIFFERS, ExitCode

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DIFFERS = ExitCode.OK, ExitCode.OTHER, ExitCode.USAGE, SCHEMA_DIFFERS


@dataclass
class ColumnContract:
    """One column of a schema, in plain terms (what curation writes and what a diff compares).

    Attributes:
        name: Column name.
        type: ``FLOAT``, ``INT`` or ``BYTES``.
        required: Present in every row.
        low, high: Value range (numeric), None when unbounded.
        values: Allowed values (categorical), None when any.
    """

    name: str
    type: str
    required: bool = True
    low: float | None = None
    high: float | None = None
    values: list[str] | None = None


@dataclass
class Observed:
    """What the data holds in one column: type, min/max or distinct values, missing rows."""

    name: str
    type: str
    missing: int = 0
    low: float | None = None
    high: float | None = None
    values: list[str] = field(default_factory=list)


def observe(raw: pd.DataFrame, tidy: pd.DataFrame, cfg) -> dict[str, Observed]:
    """Per config column: its type as ingest writes it, range or values, and missing rows in the raw file.

    Raises:
        ValueError: A configured column is missing, or a numeric feature holds text.
    """
    import pandas as pd

    from components.ingest.logic import tf_kind  # the type ingest writes: one rule

    missing_cols = [c for c in cfg.columns if c not in tidy.columns]
    if missing_cols:
        raise ValueError(f"the data has no column {', '.join(map(repr, missing_cols))} (config features/label; "
                         f"its columns: {', '.join(map(repr, map(str, raw.columns[:20])))}); "
                         "map a differing header in data.rename")
    kinds = {f.name: f.type for f in cfg.features}
    out: dict[str, Observed] = {}
    for col in cfg.columns:
        series = tidy[col]
        tf_type = tf_kind(series)
        kind = kinds.get(col)
        if kind in ("float", "int") and tf_type == "BYTES":
            bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()].unique()[:5]
            raise ValueError(f"feature {col!r} is {kind} in the config but holds text: {', '.join(map(repr, bad))}")
        if kind == "float":
            tf_type = "FLOAT"
        elif kind == "int":
            tf_type = "INT"
        elif kind == "categorical":
            tf_type = "BYTES"
        values = series.dropna()
        obs = Observed(col, tf_type, missing=int(raw[col].isna().sum()) if col in raw.columns else 0)
        if tf_type == "BYTES" or (col == cfg.label and cfg.task == "classification" and tf_type == "INT"):
            if tf_type == "BYTES":
                obs.values = sorted({str(v) for v in values})
            else:
                obs.low, obs.high = float(values.astype("int64").min()), float(values.astype("int64").max())
        elif len(values):
            numeric = values.astype("float64")
            obs.low, obs.high = float(numeric.min()), float(numeric.max())
        out[col] = obs
    return out


def contract_from(obs: Observed, margin: float, exact: bool = False) -> ColumnContract:
    """The curated contract of an observed column: its range widened by ``margin`` (not when ``exact``)."""
    c = ColumnContract(obs.name, obs.type, required=obs.missing == 0)
    if obs.type == "BYTES":
        c.values = list(obs.values)
        return c
    if obs.low is None:
        return c
    lo, hi = obs.low, obs.high
    if not exact:
        width = hi - lo or abs(hi) or 1.0
        lo, hi = lo - margin * width, hi + margin * width
        if obs.low >= 0 and lo < 0:  # a count or a measure that is never negative stays so
            lo = 0.0
    if obs.type == "INT":
        lo, hi = float(math.floor(lo)), float(math.ceil(hi))
    else:
        lo, hi = _round_out(lo, down=True), _round_out(hi, down=False)
    c.low, c.high = lo, hi
    return c


def _round_out(value: float, down: bool) -> float:
    """Rounds to 4 significant digits away from the data, so the range still holds it."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - 3)
    # round() first: 13.0 / 0.001 is 13000.000000000002 in binary floating point
    steps = (math.floor if down else math.ceil)(round(value / scale, 6))
    return round(steps * scale, 12)


def curate(observed: dict[str, Observed], cfg, margin: float = DEFAULT_MARGIN) -> dict[str, ColumnContract]:
    """Contracts for every config column; the classification label's values are exact (no margin).

    Presence follows what ingest hands on (:func:`required_after_ingest`), so the schema, TFT's
    raw feature spec, the model's serving inputs and the server agree on which values may be missing.
    """
    out = {}
    for name, obs in observed.items():
        c = contract_from(obs, margin, exact=(name == cfg.label and cfg.task == "classification"))
        c.required = required_after_ingest(name, obs, cfg)
        out[name] = c
    return out


def required_after_ingest(name: str, obs: Observed, cfg) -> bool:
    """Whether every row ingest writes has the column.

    A feature with ``missing: impute`` is optional even where this file misses none (the model
    fills it in, and requests may leave it out); a row missing any other column is dropped at
    ingest when ``data.drop_incomplete_rows`` (so that column is present in every example);
    otherwise a column is required when no row misses it.
    """
    if name in cfg.imputed_features():
        return False
    return bool(cfg.data.drop_incomplete_rows) or obs.missing == 0


def to_schema(contracts: dict[str, ColumnContract]):
    """A ``tensorflow_metadata`` Schema (what ImportSchemaGen reads) from contracts."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    for c in contracts.values():
        feat = schema.feature.add(name=c.name, type=schema_pb2.FeatureType.Value(c.type))
        if c.type == "BYTES" and c.values is not None:
            schema.string_domain.add(name=c.name, value=c.values)
            feat.domain = c.name
        elif c.type == "FLOAT" and (c.low is not None or c.high is not None):
            if c.low is not None:
                feat.float_domain.min = c.low
            if c.high is not None:
                feat.float_domain.max = c.high
        elif c.type == "INT" and (c.low is not None or c.high is not None):
            if c.low is not None:
                feat.int_domain.min = int(c.low)
            if c.high is not None:
                feat.int_domain.max = int(c.high)
        if c.required:
            feat.presence.min_fraction = 1.0
            feat.presence.min_count = 1
            feat.shape.dim.add(size=1)  # dense in Transform
        else:
            feat.presence.min_count = 0
            feat.value_count.min = 1
            feat.value_count.max = 1
    return schema


def from_schema(schema) -> dict[str, ColumnContract]:
    """Contracts from a Schema proto (a curated file, maybe edited by hand)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    domains = {d.name: list(d.value) for d in schema.string_domain}
    out = {}
    for f in schema.feature:
        c = ColumnContract(f.name, schema_pb2.FeatureType.Name(f.type),
                           required=f.HasField("presence") and f.presence.min_fraction >= 1.0)
        if f.HasField("string_domain"):
            c.values = list(f.string_domain.value)
        elif f.HasField("domain"):
            c.values = domains.get(f.domain)
        elif f.HasField("float_domain"):
            c.low = f.float_domain.min if f.float_domain.HasField("min") else None
            c.high = f.float_domain.max if f.float_domain.HasField("max") else None
        elif f.HasField("int_domain"):
            c.low = float(f.int_domain.min) if f.int_domain.HasField("min") else None
            c.high = float(f.int_domain.max) if f.int_domain.HasField("max") else None
        out[f.name] = c
    return out


def _fmt(v: float | None) -> str:
    return "-inf" if v is None else f"{v:g}"


def compare(curated: dict[str, ColumnContract], observed: dict[str, Observed], margin: float,
            label: str = "", task: str = "classification", cfg=None) -> tuple[list[str], dict[str, ColumnContract]]:
    """What the data does not fit in the curated schema, and the schema that would fit both.

    With ``cfg``, presence is judged after ingest (:func:`required_after_ingest`); without, a
    column some rows miss is optional.

    Returns:
        (one line per difference, empty when the data fits; the merged contracts: curated
        contracts widened to the data, new columns added, removed columns dropped).
    """
    diffs: list[str] = []
    merged: dict[str, ColumnContract] = {}
    for name in curated:
        if name not in observed:
            diffs.append(f"- {name}: in the curated schema but no longer a config column")
    for name, obs in observed.items():
        exact = name == label and task == "classification"
        fresh = contract_from(obs, margin, exact=exact)
        old = curated.get(name)
        if old is None:
            diffs.append(f"+ {name}: new column ({obs.type})")
            merged[name] = fresh
            continue
        if old.type != obs.type:
            diffs.append(f"~ {name}: type {old.type} in the schema, {obs.type} in the data")
            merged[name] = fresh
            continue
        c = ColumnContract(old.name, old.type, old.required, old.low, old.high,
                           None if old.values is None else list(old.values))
        present_in_all = required_after_ingest(name, obs, cfg) if cfg is not None else obs.missing == 0
        if old.required and not present_in_all:
            why = f"{obs.missing} rows miss it" if obs.missing else "the config imputes it (missing: impute)"
            diffs.append(f"~ {name}: required in the schema, but {why}")
            c.required = False
        if obs.type == "BYTES" and old.values is not None:
            new_values = [v for v in obs.values if v not in set(old.values)]
            if new_values:
                diffs.append(f"~ {name}: values not in the schema's domain: {', '.join(map(repr, new_values[:10]))}"
                             + (f" (+{len(new_values) - 10} more)" if len(new_values) > 10 else ""))
                c.values = sorted({*old.values, *new_values})
        elif obs.low is not None:
            if old.low is not None and obs.low < old.low:
                diffs.append(f"~ {name}: minimum {obs.low:g} is below the schema's range [{_fmt(old.low)}, "
                             f"{_fmt(old.high)}]")
                c.low = fresh.low
            if old.high is not None and obs.high > old.high:
                diffs.append(f"~ {name}: maximum {obs.high:g} is above the schema's range [{_fmt(old.low)}, "
                             f"{_fmt(old.high)}]")
                c.high = fresh.high
        merged[name] = c
    return diffs, merged


def schema_text(schema, cfg_name: str, margin: float) -> str:
    from google.protobuf import text_format

    return (f"# Curated by `mlops schema` for the {cfg_name} pipeline: observed ranges widened by {margin:g} x their "
            "width each side,\n# categories as observed, required when no row missed the column. Edit ranges by "
            "hand freely;\n# `mlops schema` on new data then lists what does not fit and `--update` widens them.\n"
            + text_format.MessageToString(schema))


def targets(cfg, config_path: str) -> tuple[str, str]:
    """Where the schema and suite go: the config's paths, else its schema folder.

    The schema folder is ``pipelines/schemas/<name>/`` (repo-relative) for a config inside the
    repository, ``<config folder>/schemas/<name>/`` (absolute) for one elsewhere.
    """
    from pipelines.pipeline import REPO_ROOT

    if cfg.schema.path:
        schema = cfg.schema.path
        suite = cfg.validation.expectation_suite or str(Path(schema).with_name("expectation_suite.json"))
        return schema, suite
    config_abs = Path(config_path).resolve()
    try:
        config_abs.relative_to(REPO_ROOT)
        folder = Path("pipelines") / "schemas" / cfg.name
    except ValueError:
        folder = config_abs.parent / "schemas" / cfg.name
    return str(folder / "schema.pbtxt"), str(folder / "expectation_suite.json")


def point_config_at(config_path: str, schema_path: str, suite_path: str) -> bool:
    """Sets ``schema.path`` and ``validation.expectation_suite`` in the YAML, keeping its comments.

    Returns:
        Whether the file changed.
    """
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    path = Path(config_path)
    doc = yaml.load(path.read_text())
    changed = False
    for section, key, value in (("schema", "path", schema_path), ("validation", "expectation_suite", suite_path)):
        if doc.get(section) is None:
            doc[section] = {}
        if doc[section].get(key) != value:
            doc[section][key] = value
            changed = True
    if changed:
        import io

        buf = io.StringIO()
        yaml.dump(doc, buf)
        path.write_text(buf.getvalue())
    return changed


def read_data(cfg, data_uri: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw renamed frame, tidied frame) exactly as the pipeline's ingest reads the data."""
    from components.ingest import logic as ingest
    from pipelines.pipeline import resolve_repo_path

    uri = data_uri or cfg.data.uri
    uri = resolve_repo_path(uri) if "://" not in uri else uri
    raw = ingest.apply_rename(ingest.read_table(uri, cfg.data.format), cfg.data.rename)
    tidy, _ = ingest.tidy(raw, {f.name: f.type for f in cfg.features}, cfg.label, cfg.data.drop_incomplete_rows,
                          cfg.data.max_dropped_fraction, dataset=cfg.name, imputed=cfg.imputed_features())
    return raw, tidy


def _describe(c: ColumnContract) -> str:
    if c.values is not None:
        shown = ", ".join(c.values[:6]) + (f", ... ({len(c.values)} values)" if len(c.values) > 6 else "")
        what = f"one of {shown}"
    elif c.low is not None or c.high is not None:
        what = f"in [{_fmt(c.low)}, {_fmt(c.high)}]"
    else:
        what = "any value"
    return f"{c.name} ({c.type}): {what}, {'required' if c.required else 'optional'}"


def main(args) -> int:
    """``mlops schema``: curate, or compare with the curated schema (``--update`` accepts)."""
    from components.common import storage
    from components.common.errors import DataValidationError
    from components.ge_validation.suite import suite_from_schema, write_suite
    from pipelines.config import load_config
    from pipelines.pipeline import resolve_repo_path

    # The schema this command is about to (re)write may not match the config yet: check it after.
    cfg = load_config(args.config, check_files=False)
    if args.margin < 0:
        print(f"\n--margin {args.margin}: must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    try:
        raw, tidy = read_data(cfg, args.data_uri)
        observed = observe(raw, tidy, cfg)
    except DataValidationError as exc:
        # The data gate's own paragraph: what a run on this file would stop with.
        print(f"\nCannot curate a schema from {args.data_uri or cfg.data.uri}: {exc.paragraph()}", file=sys.stderr)
        return EXIT_DIFFERS
    except (ValueError, storage.StorageError) as exc:
        print(f"\nCannot curate a schema from {args.data_uri or cfg.data.uri}: {exc}", file=sys.stderr)
        return EXIT_DIFFERS
    schema_rel, suite_rel = targets(cfg, args.config)
    schema_abs, suite_abs = resolve_repo_path(schema_rel), resolve_repo_path(suite_rel)
    from components.common.writable import UnwritableLocation, ensure_writable_parent

    # Written below: the schema and suite, and the config itself (it is pointed at them).
    ensure_writable_parent(schema_abs, f"the schema folder ({'schema.path' if cfg.schema.path else 'pipelines/schemas/<name>'})",
                           "set schema.path to a file in a folder you can write")
    ensure_writable_parent(suite_abs, "the expectation suite's folder (validation.expectation_suite)",
                           "set validation.expectation_suite to a file in a folder you can write")
    if not os.access(args.config, os.W_OK):
        raise UnwritableLocation(f"Cannot write the config {args.config} (permission denied): `mlops schema` points its "
                                 "schema.path and validation.expectation_suite at what it writes. Make the file writable "
                                 "or copy it somewhere you can write.")
    from tensorflow_metadata.proto.v0 import schema_pb2

    if os.path.exists(schema_abs):
        from google.protobuf import text_format

        current = schema_pb2.Schema()
        text_format.Parse(Path(schema_abs).read_text(), current)
        diffs, contracts = compare(from_schema(current), observed, args.margin, cfg.label, cfg.task, cfg)
        if not diffs:
            print(f"{schema_rel}: the data fits the curated schema; nothing to change.")
            changed = point_config_at(args.config, schema_rel, suite_rel) if not os.path.exists(suite_abs) or \
                cfg.schema.path != schema_rel or cfg.validation.expectation_suite != suite_rel else False
            if changed or not os.path.exists(suite_abs):
                write_suite(suite_from_schema(current, f"{cfg.name}-suite"), suite_abs)
            return EXIT_OK
        print(f"{schema_rel}: the data differs from the curated schema:")
        for line in diffs:
            print(f"  {line}")
        if not args.update:
            print(f"\nNothing written. Fix the data, or accept the differences with "
                  f"`mlops schema --config {args.config} --update` (ranges widen, categories are added).",
                  file=sys.stderr)
            return EXIT_DIFFERS
        schema = to_schema(contracts)
    else:
        contracts = curate(observed, cfg, args.margin)
        schema = to_schema(contracts)
    Path(schema_abs).parent.mkdir(parents=True, exist_ok=True)
    Path(schema_abs).write_text(schema_text(schema, cfg.name, args.margin))
    write_suite(suite_from_schema(schema, f"{cfg.name}-suite"), suite_abs)
    point_config_at(args.config, schema_rel, suite_rel)
    load_config(args.config)  # what we wrote must load, schema check included
    print(f"Wrote {schema_rel} and {suite_rel} from {len(tidy)} rows; {args.config} points at them.")
    for c in contracts.values():
        print(f"  {_describe(c)}")
    return EXIT_OK


def add_arguments(parser) -> None:
    """``mlops schema`` options."""
    parser.add_argument("--config", required=True, help="pipeline config YAML (written by `mlops init` or by hand)")
    parser.add_argument("--data-uri", help="curate from / compare with this file instead of data.uri")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                        help="widen each observed numeric range by this times its width on each side (default 0.1)")
    parser.add_argument("--update", action="store_true",
                        help="accept the differences from the curated schema: widen ranges, add categories")
    parser.epilog = ("Exit codes: 0 written or up to date, 3 the data differs from the curated schema (nothing "
                     "written without --update) or cannot be read, 2 config error.")
