"""The generated SQL in real PostgreSQL and Spark SQL engines: the same fit_score and tier as icpkit.

These need Debian's postgresql and openjdk-17-jre-headless (``make test-services`` installs them
when missing, and CI runs this file); each fixture starts its engine on this machine only and
removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from icpkit.export import scorecard_sql
from test_export_sql import _check, _expected, _messy

pytestmark = pytest.mark.services

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def learned():
    from icpkit.config import WorkspaceConfig
    from icpkit.datasets import make_crm
    from icpkit.pipeline import build_icp

    crm = make_crm(2500, seed=11)
    profile = build_icp(crm.to_crm_data(), WorkspaceConfig(), validate=False).profile
    return profile, _messy(crm.accounts)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free local port; yields its connection string."""
    if not PG_BIN:
        pytest.fail("PostgreSQL is not installed: run `make test-services` (installs postgresql)")
    bin_dir = PG_BIN[-1]
    # not under pytest's own temp folder: that one is private to root, and the server is not root
    root = Path(tempfile.mkdtemp(prefix="icpkit-pg-"))
    data = root / "data"
    port = _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    done = subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "icpkit"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = root / "server.log"
    subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "120",
         "-o", f"-p {port} -k {root} -h 127.0.0.1", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"host=127.0.0.1 port={port} user=icpkit dbname=postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _pg_load(conn, table: str, accounts: pl.DataFrame) -> None:
    types = {pl.String: "TEXT", pl.Float64: "DOUBLE PRECISION", pl.Int64: "BIGINT"}
    cols = []
    for name, dtype in accounts.schema.items():
        sql_type = "TEXT[]" if isinstance(dtype, pl.List) else types[dtype.base_type()]
        cols.append(f'"{name}" {sql_type}')
    with conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.execute(f'CREATE TABLE "{table}" ({", ".join(cols)})')
        names = ", ".join(f'"{c}"' for c in accounts.columns)
        with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in accounts.iter_rows():
                copy.write_row(row)
    conn.commit()


def test_postgres_gives_icpkit_scores_exactly(postgres: str, learned) -> None:
    psycopg = pytest.importorskip("psycopg", reason="install the postgres extra (make env does)")
    profile, accounts = learned
    export = scorecard_sql(profile, "accounts", "postgres", present=accounts.columns)
    with psycopg.connect(postgres) as conn:
        _pg_load(conn, "accounts", accounts)
        with conn.cursor() as cur:
            cur.execute(export.sql)
            names = [d.name for d in cur.description]
            got = pl.DataFrame(cur.fetchall(), schema=names, orient="row", infer_schema_length=None)
    _check(_expected(profile, accounts), got)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="install the spark extra (make env does)"
    )
    if shutil.which("java") is None:
        pytest.fail("Java is not installed: run `make test-services` (openjdk-17-jre-headless)")
    from icpkit.engines.spark import spark_session

    assert pyspark_sql is not None
    session = spark_session("local[2]", "icpkit-tests")
    try:
        yield session
    finally:
        session.stop()


def test_spark_sql_gives_icpkit_scores_exactly(spark, learned, tmp_path: Path) -> None:
    profile, accounts = learned
    path = tmp_path / "accounts.parquet"
    accounts.write_parquet(path)
    spark.read.parquet(str(path)).createOrReplaceTempView("accounts")  # type: ignore[attr-defined]
    export = scorecard_sql(profile, "accounts", "spark", present=accounts.columns)
    rows = spark.sql(export.sql).toPandas()  # type: ignore[attr-defined]
    got = pl.from_pandas(rows)
    _check(_expected(profile, accounts), got)


def test_score_on_spark_equals_local_scoring(spark, learned, tmp_path: Path) -> None:
    """`--engine spark` runs the same Arrow batch scorer on Spark tasks: identical output."""
    from icpkit.engines.spark import score_spark
    from icpkit.scoring import score_file

    profile, accounts = learned
    source = tmp_path / "in.parquet"
    accounts.write_parquet(source)
    n = score_spark(profile, str(source), tmp_path / "out", spark=spark)
    assert n == accounts.height
    got = pl.read_parquet(tmp_path / "out" / "*.parquet")
    # the same file scored by the local engine: the same batch function, normaliser included
    # (an empty tag list reads as missing there, as in a CSV cell)
    score_file(profile, source, tmp_path / "local.parquet")
    expected = pl.read_parquet(tmp_path / "local.parquet").select(
        pl.col("account_id", "tier").cast(pl.Utf8), "fit_score", "reasons"
    )
    got = got.with_columns(pl.col("account_id", "tier").cast(pl.Utf8))
    joined = expected.join(
        got.select("account_id", "fit_score", "tier", "reasons"), on="account_id", suffix="_spark"
    )
    assert joined.height == accounts.height
    assert (joined["fit_score"].cast(pl.Int64) == joined["fit_score_spark"].cast(pl.Int64)).all()
    assert (joined["tier"] == joined["tier_spark"]).all()
    assert (joined["reasons"] == joined["reasons_spark"]).all()


def test_spark_names_missing_columns(spark, learned, tmp_path: Path) -> None:
    from icpkit.engines.spark import score_spark
    from icpkit.errors import SchemaError

    profile, accounts = learned
    source = tmp_path / "thin.parquet"
    accounts.select("account_id", "industry").write_parquet(source)
    with pytest.raises(SchemaError, match="employees"):
        score_spark(profile, str(source), tmp_path / "out", spark=spark)
