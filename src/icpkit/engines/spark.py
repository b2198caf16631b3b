"""Score a table of any size on Spark with the same Arrow batch function as ``icpkit score``.

There is no second implementation: each Spark task receives Arrow record batches
(``DataFrame.mapInArrow``), rebuilds the :class:`~icpkit.scoring.apply.ScoringPlan` from the
profile's JSON, and calls ``ScoringPlan.score_table`` on every batch, exactly as local bulk scoring
does. The input is a Parquet or CSV path or a table in the Spark catalog, with the profile's
attribute columns already in canonical types (numbers as numbers, tag lists as arrays of strings):
Spark does not run icpkit's CSV normalisation (ranges, money strings, countries); write the
normalised accounts with icpkit first, or prepare the table in the warehouse. The output is
Parquet, partitioned as Spark writes it (one file per task). Discovery and building stay local:
they need the whole CRM, which fits one machine for any real customer base.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from icpkit.errors import ConfigError, SchemaError
from icpkit.profile import IcpProfile
from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan

__all__ = ["score_spark", "spark_session"]


def spark_session(master: str = "local[*]", app_name: str = "icpkit") -> Any:
    """A Spark session (an existing active one is reused)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark: install icpkit[spark] (and Java 17, e.g. Debian's "
            "openjdk-17-jre-headless)"
        ) from None
    # local workers must run this interpreter (the one with icpkit and pyarrow), not PATH's python3
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
    )
    if master.startswith("local"):  # one machine: stay on loopback, few shuffle partitions
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.sql.shuffle.partitions", "4"
        )
    return builder.getOrCreate()


def _arrow_batches(profile_json: str, reasons: bool) -> Any:
    """The function each Spark task runs over its Arrow batches (a closure over plain text, so it
    pickles to the executors without the profile object)."""

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from icpkit.profile import IcpProfile
        from icpkit.scoring.apply import ScoringPlan

        plan = ScoringPlan.from_profile(IcpProfile.from_json(profile_json))
        for batch in batches:
            table = pa.Table.from_batches([batch])
            scored = plan.score_table(
                table.select(list(plan.columns)), reasons=reasons, parallel=False
            )
            columns = {
                name: table.column(name)
                for name in table.column_names
                if name not in OUTPUT_COLUMNS
            }
            for name in OUTPUT_COLUMNS:
                column = scored.column(name)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(pa.string())
                columns[name] = column
            yield from pa.table(columns).to_batches()

    return score


def score_spark(
    profile: IcpProfile,
    source: str,
    output: str | Path,
    *,
    spark: Any | None = None,
    master: str = "local[*]",
    reasons: bool = True,
) -> int:
    """Score ``source`` (a .parquet/.csv path or a catalog table) into Parquet at ``output``.

    Returns the number of rows scored. Raises SchemaError naming every attribute column the
    input lacks, before any task runs.
    """
    session = spark if spark is not None else spark_session(master)
    from pyspark.sql import types as T

    frame = _read(session, source)
    plan = ScoringPlan.from_profile(profile)
    missing = [c for c in plan.columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source}: cannot score on Spark: the profile needs attribute columns {missing} "
            f"(columns found: {frame.columns[:30]})"
        )
    kept = [f for f in frame.schema.fields if f.name not in OUTPUT_COLUMNS]
    schema = T.StructType(
        [
            *kept,
            T.StructField("fit_score", T.ShortType()),
            T.StructField("fit_probability", T.DoubleType()),
            T.StructField("tier", T.StringType()),
            T.StructField("reasons", T.StringType()),
            T.StructField("criteria_met", T.StringType()),
            T.StructField("disqualifiers_hit", T.StringType()),
        ]
    )
    scored = frame.mapInArrow(_arrow_batches(profile.to_json(), reasons), schema)
    scored.write.mode("overwrite").parquet(str(output))
    return int(session.read.parquet(str(output)).count())


def _read(session: Any, source: str) -> Any:
    path = Path(source)
    if path.suffix.lower() == ".csv":
        return session.read.option("header", "true").option("inferSchema", "true").csv(source)
    if path.suffix.lower() == ".parquet" or path.is_dir():
        if not path.exists():
            raise SchemaError(f"{source}: no such file or folder")
        return session.read.parquet(source)
    return session.table(source)
