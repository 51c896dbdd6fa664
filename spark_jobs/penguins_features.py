"""The penguins feature table: pure PySpark transformations of the raw export ``penguins-raw.csv``.

From the raw export (17 free-text columns as the field team wrote them: long species names,
``MALE``/``FEMALE``, ``NA`` for missing, dates as text) to the table the
``pipelines/configs/penguins_features.yaml`` pipeline trains on:

1. :func:`rename_columns`: the raw headers to snake_case names; the constant ``Region`` and
   ``Stage`` columns and the free-text ``Comments`` are left out.
2. :func:`normalize_text`: trimmed strings; ``""``, ``NA`` and ``.`` become null.
3. :func:`standardize_values`: ``Adelie Penguin (Pygoscelis adeliae)`` -> ``Adelie``,
   ``MALE`` -> ``male``, ``Yes`` -> ``yes`` (the values of ``penguins.csv``).
4. :func:`parse_types`: measurements to doubles, the sample number to an int, ``Date Egg`` to a
   date. A value that does not parse would become null silently, so :func:`parse_problems`
   counts them first and the job refuses such input (naming the column and example values).
5. :func:`derive_features`: ``bill_ratio`` (length / depth: the bill's shape, which separates
   the species better than either measurement), ``mass_flipper_ratio`` (grams per mm of
   flipper: body condition) and ``year``.
6. :func:`deduplicate`: one row per record key (study, species, sample number); a re-exported
   record that is more complete wins, ties go to the smallest values, so the result does not
   depend on the input order or partitioning.

Range and set checks are not done here: validating the table is the training pipeline's job
(its Great Expectations suite, one suite for every reader). Only built-in Spark functions are
used (no Python UDFs), so executors need no Python packages and Spark Connect works too.
"""

from __future__ import annotations

from typing import Iterable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

#: Raw export header -> feature-table column, for the columns the table keeps.
RAW_COLUMNS: dict[str, str] = {
    "studyName": "study_name",
    "Sample Number": "sample_number",
    "Species": "species",
    "Island": "island",
    "Individual ID": "individual_id",
    "Clutch Completion": "clutch_completion",
    "Date Egg": "egg_date",
    "Culmen Length (mm)": "bill_length_mm",
    "Culmen Depth (mm)": "bill_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Sex": "sex",
    "Delta 15 N (o/oo)": "delta_15n",
    "Delta 13 C (o/oo)": "delta_13c",
}
MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "delta_15n", "delta_13c")
#: Text that means "no value" in the export (R writes NA; a lone "." marks an unsexed bird).
MISSING_TEXT = ("", "NA", ".")
DATE_FORMAT = "yyyy-MM-dd"
#: One row per record: the export numbers samples per study and species.
RECORD_KEY = ("study_name", "species", "sample_number")
PARTITION_COLUMN = "egg_date"


class RawSchemaError(ValueError):
    """The raw export lacks columns the table needs; the message names them and what was found."""


def missing_raw_columns(columns: Iterable[str]) -> list[str]:
    """The raw headers the table needs that ``columns`` lacks (surrounding spaces ignored)."""
    present = {c.strip() for c in columns}
    return [raw for raw in RAW_COLUMNS if raw not in present]


def rename_columns(raw: DataFrame) -> DataFrame:
    """Selects the kept raw columns under their feature-table names.

    Raises:
        RawSchemaError: A needed column is missing.
    """
    missing = missing_raw_columns(raw.columns)
    if missing:
        found = ", ".join(repr(c) for c in raw.columns[:20])
        raise RawSchemaError(
            f"the raw export lacks column(s) {', '.join(repr(m) for m in missing)}; its header has "
            f"{len(raw.columns)} column(s): {found}"
        )
    by_stripped = {c.strip(): c for c in raw.columns}
    return raw.select([F.col(f"`{by_stripped[src]}`").alias(dst) for src, dst in RAW_COLUMNS.items()])


def normalize_text(df: DataFrame) -> DataFrame:
    """Trims every string column and turns the export's missing-value markers into null."""
    out = []
    for name, dtype in df.dtypes:
        if dtype != "string":
            out.append(F.col(name))
            continue
        trimmed = F.trim(F.col(name))
        out.append(F.when(trimmed.isin(*MISSING_TEXT), None).otherwise(trimmed).alias(name))
    return df.select(out)


def standardize_values(df: DataFrame) -> DataFrame:
    """Short species names and the lower-case values the penguins dataset uses."""
    return df.withColumns({
        # "Adelie Penguin (Pygoscelis adeliae)" -> "Adelie": the common name's first word.
        "species": F.initcap(F.regexp_extract("species", r"^(\S+)", 1)),
        "sex": F.lower("sex"),
        "clutch_completion": F.lower("clutch_completion"),
    })


def parsed_columns() -> dict[str, Column]:
    """Column -> its typed value parsed from text (null where the text does not parse)."""
    typed = {name: F.col(name).try_cast("double") for name in MEASUREMENTS}
    typed["sample_number"] = F.col("sample_number").try_cast("int")
    typed[PARTITION_COLUMN] = F.to_date(F.try_to_timestamp(F.col(PARTITION_COLUMN), F.lit(DATE_FORMAT)))
    return typed


def parse_types(df: DataFrame) -> DataFrame:
    """Measurements as doubles, ``sample_number`` as int, ``egg_date`` as a date."""
    return df.withColumns(parsed_columns())


def parse_problems(df: DataFrame) -> dict[str, int]:
    """Per typed column, how many non-missing values do not parse (one aggregation pass).

    Args:
        df: The normalized text table (after :func:`normalize_text`).

    Returns:
        ``{"rows": n, <column>: count, ...}``: the row count and a count per typed column.
    """
    exprs = [F.count(F.lit(1)).alias("rows")]
    for name, typed in parsed_columns().items():
        exprs.append(F.sum(F.when(F.col(name).isNotNull() & typed.isNull(), 1).otherwise(0)).alias(name))
    row = df.agg(*exprs).first()
    return {k: int(v or 0) for k, v in row.asDict().items()}


def unparsable_examples(df: DataFrame, column: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` distinct values of ``column`` that do not parse (sorted)."""
    typed = parsed_columns()[column]
    rows = df.where(F.col(column).isNotNull() & typed.isNull()).select(column).distinct().orderBy(column).limit(limit)
    return [r[0] for r in rows.collect()]


def derive_features(df: DataFrame) -> DataFrame:
    """Adds ``bill_ratio``, ``mass_flipper_ratio`` and ``year`` (null where an input is null or 0)."""
    return df.withColumns({
        "bill_ratio": F.try_divide("bill_length_mm", "bill_depth_mm"),
        "mass_flipper_ratio": F.try_divide("body_mass_g", "flipper_length_mm"),
        "year": F.year(PARTITION_COLUMN),
    })


def deduplicate(df: DataFrame, key: Iterable[str] = RECORD_KEY) -> DataFrame:
    """One row per ``key``: the most complete one, ties broken by the smallest values.

    Exact duplicates (a file exported twice) collapse to one row; a re-export with more values
    filled in replaces the older record. The order is total, so the kept row is the same
    whatever the input order or partitioning.
    """
    key = list(key)
    others = [c for c in df.columns if c not in key]
    filled = sum((F.col(c).isNotNull().cast("int") for c in others), F.lit(0))
    order = [filled.desc(), *(F.col(c).asc_nulls_last() for c in others)]
    rank = F.row_number().over(Window.partitionBy(*key).orderBy(*order))
    return df.withColumn("_rank", rank).where(F.col("_rank") == 1).drop("_rank")


def feature_table(raw: DataFrame) -> DataFrame:
    """The whole transformation, raw export to feature table (steps 1-6 of the module doc)."""
    text = standardize_values(normalize_text(rename_columns(raw)))
    return deduplicate(derive_features(parse_types(text)))


def profile(df: DataFrame) -> dict[str, object]:
    """Row count, null count per column and distinct egg dates, in one aggregation pass."""
    exprs = [F.count(F.lit(1)).alias("_rows"), F.countDistinct(PARTITION_COLUMN).alias("_dates")]
    exprs += [F.sum(F.col(c).isNull().cast("int")).alias(c) for c in df.columns]
    row = df.agg(*exprs).first().asDict()
    return {
        "rows": int(row.pop("_rows")),
        "dates": int(row.pop("_dates") or 0),
        "null_counts": {c: int(v or 0) for c, v in row.items()},
    }
