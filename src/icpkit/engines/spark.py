"""Score a table of any size on Spark with the same Arrow batch function as ``icpkit score``.

There is no second implementation: each Spark task receives Arrow record batches
(``DataFrame.mapInArrow``), rebuilds the :class:`~icpkit.scoring.apply.ScoringPlan` from the
profile's JSON, and calls :func:`~icpkit.scoring.bulk.score_batch` on every batch — the prospect
normaliser (ranges like '51-200', money strings, country names, delimited or array tags) and then
the scorer — exactly as local bulk scoring and the API's record path do. A CSV is read as text, as
the local engine reads it, so the normaliser sees the same cells. The input is a Parquet or CSV
path or a table in the Spark catalog; the output is Parquet, partitioned as Spark writes it (one
file per task). An unreadable value or an oversized cell fails the job with the same SchemaError
as the local engine, its row counted within the Spark partition. Discovery and building stay
local: they need the whole CRM, which fits one machine for any real customer base.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from icpkit.config import SourceConfig
from icpkit.errors import ConfigError, Problem, SchemaError
from icpkit.profile import IcpProfile
from icpkit.scoring.apply import OUTPUT_COLUMNS, ScoringPlan
from icpkit.scoring.bands import BandScale
from icpkit.scoring.bulk import resolve_columns

# A SchemaError raised in a task crosses to the driver as text inside Spark's own error: it is
# carried between these markers as JSON and raised again on the driver.
_ERROR = re.compile(r"ICPKIT-ERROR<<(.*?)>>ICPKIT-ERROR", re.S)

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


def _arrow_batches(
    profile_json: str,
    reasons: bool,
    source_json: str | None = None,
    preset: str | None = None,
    label: str = "input",
    bands: tuple[tuple[str, ...], tuple[int, ...], tuple[int, int, int]] | None = None,
) -> Any:
    """The function each Spark task runs over its Arrow batches (a closure over plain text, so it
    pickles to the executors without the profile object)."""

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark import TaskContext

        from icpkit.profile import IcpProfile
        from icpkit.scoring.apply import ScoringPlan
        from icpkit.scoring.bands import BandScale
        from icpkit.scoring.bulk import resolve_columns, score_batch

        scale = BandScale(*bands) if bands is not None else None
        plan = ScoringPlan.from_profile(IcpProfile.from_json(profile_json), scale)
        source = None if source_json is None else SourceConfig.model_validate_json(source_json)
        context = TaskContext.get()
        part = f"{label} (Spark partition {context.partitionId() if context else 0})"
        columns = lacking = None
        row = 1
        for batch in batches:
            table = pa.Table.from_batches([batch])
            try:
                if columns is None:
                    columns, lacking = resolve_columns(
                        plan, table.column_names, source=source, preset=preset, file=part
                    )
                scored = score_batch(
                    plan,
                    columns,
                    table,
                    first_row=row,
                    lacking=lacking,
                    reasons=reasons,
                )
            except SchemaError as exc:
                raise RuntimeError(_carried(exc)) from None
            row += table.num_rows
            out = {
                name: table.column(name)
                for name in table.column_names
                if name not in OUTPUT_COLUMNS
            }
            for name in OUTPUT_COLUMNS:
                column = scored.column(name)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(pa.string())
                out[name] = column
            yield from pa.table(out).to_batches()

    return score


def _carried(exc: SchemaError) -> str:
    problems = [dataclasses.asdict(p) for p in exc.problems]
    payload = json.dumps({"message": exc.message, "problems": problems}, default=str)
    return f"ICPKIT-ERROR<<{payload}>>ICPKIT-ERROR"


def _raised_in_task(exc: BaseException) -> SchemaError | None:
    """The SchemaError a task raised, rebuilt from Spark's error text (None: another error)."""
    found = _ERROR.search(str(exc))
    if found is None:
        return None
    payload = json.loads(found.group(1))
    problems = [Problem(**p) for p in payload["problems"]]
    return SchemaError(payload["message"], problems)


def score_spark(
    profile: IcpProfile,
    source: str,
    output: str | Path,
    *,
    spark: Any | None = None,
    master: str = "local[*]",
    reasons: bool = True,
    mapping: SourceConfig | None = None,
    preset: str | None = None,
    bands: BandScale | None = None,
) -> int:
    """Score ``source`` (a .parquet/.csv path or a catalog table) into Parquet at ``output``.

    ``mapping``/``preset`` are the accounts source's mapping (``score --map``). Returns the number
    of rows scored. Raises SchemaError naming every attribute column the input lacks before any
    task runs, and the SchemaError a task met (an unreadable value, an oversized cell).
    """
    session = spark if spark is not None else spark_session(master)
    from pyspark.sql import types as T

    frame = _read(session, source)
    plan = ScoringPlan.from_profile(profile, bands)
    resolve_columns(plan, list(frame.columns), source=mapping, preset=preset, file=str(source))
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
            T.StructField("calibrated_score", T.ShortType()),
            T.StructField("fit_band", T.StringType()),
        ]
    )
    task = _arrow_batches(
        profile.to_json(),
        reasons,
        None if mapping is None else mapping.model_dump_json(),
        preset,
        str(source),
        (plan.bands.names, plan.bands.edges, plan.bands.anchors),
    )
    scored = frame.mapInArrow(task, schema)
    try:
        scored.write.mode("overwrite").parquet(str(output))
    except Exception as exc:  # Spark wraps what a task raised in its own error types
        error = _raised_in_task(exc)
        if error is None:
            raise
        raise error from None
    return int(session.read.parquet(str(output)).count())


def _read(session: Any, source: str) -> Any:
    path = Path(source)
    if path.suffix.lower() == ".csv":
        # as text, as the local engine reads a CSV: the normaliser types every cell the same way
        return session.read.option("header", "true").option("inferSchema", "false").csv(source)
    if path.suffix.lower() == ".parquet" or path.is_dir():
        if not path.exists():
            raise SchemaError(f"{source}: no such file or folder")
        return session.read.parquet(source)
    return session.table(source)
