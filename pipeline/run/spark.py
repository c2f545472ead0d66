"""The Spark engine: every user bucket computed by a Spark worker with the run's own code.

Spark brings the scheduling, retries and the many machines; the algorithm stays in
:func:`pipeline.run.batch.compute_partition` (Polars, reached through Arrow), so there is no second
implementation. The run exports the window's attempts by user bucket (:mod:`pipeline.io.export`),
Spark cogroups each bucket's attempts with its existing output keys and returns the staged rows
plus one JSON row of counts per bucket, written as Parquet; the run then stages and merges them
as a local run does, under the same ledger row and in the same single transaction.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA, STAGE_SCHEMA
from pipeline.io.export import BUCKET_COLUMN
from pipeline.io.extract import resolve_extracted
from pipeline.run.batch import Lookups, PartitionCounts, compute_partition
from pipeline.run.spec import RunSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_EXTRA = "pip install 'mastery-pipeline[spark]'"
MIN_JAVA = 17
COUNTS_COLUMN = "partition_counts"
KEY_SCHEMA = pl.Schema({"user_id": pl.String(), "theme_id": pl.Int32()})
OUTPUT_SCHEMA = pl.Schema({**STAGE_SCHEMA, BUCKET_COLUMN: pl.Int32(), COUNTS_COLUMN: pl.String()})
_SPARK_TYPES: dict[type[pl.DataType], tuple[str, pa.DataType]] = {
    pl.String: ("string", pa.string()),
    pl.Int32: ("int", pa.int32()),
    pl.Boolean: ("boolean", pa.bool_()),
    pl.Datetime: ("timestamp", pa.timestamp("us", tz="UTC")),
}
_SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
_WORKER_ERROR = re.compile(r"^(?:Caused by: |: )?(?:[\w.$]+\.)?(\w+(?:Error|Exception)): (.+)$")


def require_pyspark() -> None:
    """One line naming the extra to install, not an ImportError traceback."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise MasteryError(f"the spark engine needs PySpark: {SPARK_EXTRA}") from None


def require_java() -> None:
    """Spark 4 runs on Java 17 or newer; say so before Spark fails to start in its own words."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home, "bin", "java")) if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise MasteryError(
            f"the spark engine needs Java {MIN_JAVA} or newer: no java found "
            "(install a JDK, e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        )
    found = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', found.stderr + found.stdout)
    major = (
        int(match.group(2) if match and match.group(1) == "1" else match.group(1)) if match else 0
    )
    if major < MIN_JAVA:
        raise MasteryError(
            f"the spark engine needs Java {MIN_JAVA} or newer; {java} is Java {major or 'unknown'}"
        )


@contextmanager
def spark_session(
    master: str | None, conf: Mapping[str, str], log_dir: str | None = None
) -> Iterator[SparkSession]:
    """The active session (a notebook's, or spark-submit's), else a new one stopped at the end.

    Without ``master`` and outside spark-submit the session is ``local[*]``. Python workers
    default to this interpreter, so they import the same Polars and pipeline as the driver.
    A session started here writes the JVM's console (Spark's log, workers' stderr) to a file
    that is kept, and named in the error, only when the run fails.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        _configure(active, conf)
        yield active
        return
    require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    handle, name = tempfile.mkstemp(prefix="mastery-spark-", suffix=".log", dir=log_dir)
    log = Path(name)
    with os.fdopen(handle, "wb") as sink:
        try:
            session = _start_session(master, conf, sink)
        except Exception as exc:
            raise MasteryError(f"Spark did not start: {worker_error(exc)} (log: {log})") from None
        try:
            _configure(session, {})
            yield session
        except Exception as exc:
            cause = str(exc) if isinstance(exc, MasteryError) else worker_error(exc)
            raise MasteryError(f"{cause} (Spark's log: {log})") from None
        else:
            log.unlink()
        finally:
            session.stop()


def _start_session(master: str | None, conf: Mapping[str, str], sink: IO[bytes]) -> SparkSession:
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    settings = SparkConf().setAppName("mastery-recompute")
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:
        settings.setMaster(master or "local[*]")
    for key, value in {"spark.ui.showConsoleProgress": "false", **conf}.items():
        settings.set(key, value)
    gateway = launch_gateway(  # type: ignore[no-untyped-call]
        settings, popen_kwargs={"stdout": sink, "stderr": sink}
    )
    return SparkSession(SparkContext(conf=settings, gateway=gateway))


def _configure(session: SparkSession, conf: Mapping[str, str]) -> None:
    for key, value in {**_SESSION_SETTINGS, **conf}.items():
        try:
            session.conf.set(key, value)
        except Exception as exc:
            raise MasteryError(f"cannot set {key} on the running Spark session: {exc}") from None


@dataclass(frozen=True)
class BucketCompute:
    """What each worker runs for one bucket: pickled once, with the lookups it needs."""

    lookups: Lookups
    spec: RunSpec

    def __call__(self, key: tuple[Any, ...], attempts: pa.Table, existing: pa.Table) -> pa.Table:
        bucket = int(key[0].as_py() if hasattr(key[0], "as_py") else key[0])
        part = compute_partition(
            resolve_extracted(_side(attempts, RAW_ATTEMPT_SCHEMA), self.spec.scope),
            _side(existing, KEY_SCHEMA),
            self.lookups,
            self.spec,
        )
        rows = part.stage.with_columns(
            pl.lit(bucket, pl.Int32).alias(BUCKET_COLUMN),
            pl.lit(None, pl.String).alias(COUNTS_COLUMN),
        )
        counts = pl.DataFrame(
            {BUCKET_COLUMN: [bucket], COUNTS_COLUMN: [part.counts().to_json()]},
            schema={BUCKET_COLUMN: pl.Int32, COUNTS_COLUMN: pl.String},
        )
        return (
            pl.concat([rows, counts], how="diagonal")
            .select(*OUTPUT_SCHEMA)
            .to_arrow()
            .cast(arrow_schema())
        )


def _side(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    """One side of a cogrouped bucket as its frame; the side with no rows may come columnless."""
    frame = pl.DataFrame(table).drop(BUCKET_COLUMN, strict=False)
    return frame.cast(schema) if frame.width else pl.DataFrame(schema=schema)


def empty_partition_counts(compute: BucketCompute) -> PartitionCounts:
    """The counts of a bucket with no rows, so that a run whose buckets are all empty still
    reports every data-quality key at zero, as a local run does (Spark never calls a bucket it
    has no row of)."""
    empty = pl.DataFrame(schema=RAW_ATTEMPT_SCHEMA).to_arrow()
    keys = pl.DataFrame(schema=KEY_SCHEMA).to_arrow()
    frame = pl.DataFrame(compute((0,), empty, keys))
    return PartitionCounts.from_json(frame[COUNTS_COLUMN][0])


def run_buckets(
    session: SparkSession, input_dir: Path, output_dir: Path, buckets: int, compute: BucketCompute
) -> None:
    """One Spark job: cogroup attempts and existing keys by bucket, compute, write Parquet."""
    session.conf.set("spark.sql.shuffle.partitions", str(buckets))
    attempts = session.read.parquet(str(input_dir / "attempts"))
    existing = session.read.parquet(str(input_dir / "existing"))
    # Spark reads the function's signature to pass the key; a callable object has none.
    function = lambda key, left, right: compute(key, left, right)  # noqa: E731, PLW0108
    computed = (
        attempts.groupBy(BUCKET_COLUMN)
        .cogroup(existing.groupBy(BUCKET_COLUMN))
        .applyInArrow(function, spark_ddl())
    )
    try:
        computed.write.partitionBy(BUCKET_COLUMN).parquet(str(output_dir))
    except Exception as exc:
        raise MasteryError(f"Spark job failed: {worker_error(exc)}") from None


def read_buckets(output_dir: Path) -> Iterator[tuple[pl.DataFrame, PartitionCounts]]:
    """Each bucket's staged rows and counts, one bucket in memory at a time."""
    for directory in sorted(output_dir.glob(f"{BUCKET_COLUMN}=*")):
        frame = pl.read_parquet(directory / "*.parquet")
        counts = frame.filter(pl.col(COUNTS_COLUMN).is_not_null())[COUNTS_COLUMN]
        rows = frame.filter(pl.col(COUNTS_COLUMN).is_null()).select(
            pl.col(name).cast(dtype) for name, dtype in STAGE_SCHEMA.items()
        )
        yield rows.sort("user_id", "theme_id"), PartitionCounts.from_json(counts.item())


def worker_error(exc: BaseException) -> str:
    """The worker's own exception line out of Spark's and Py4J's pages of stack trace."""
    lines = [line.strip() for line in str(exc).splitlines()]
    wrappers = ("PythonException", "Py4JJavaError", "SparkException", "PySparkRuntimeError")
    for line in reversed(lines):
        match = _WORKER_ERROR.match(line)
        if match and match.group(1) not in wrappers:
            return f"{match.group(1)}: {match.group(2)}"
    return next((line for line in lines if line), type(exc).__name__)


def _field(dtype: pl.DataType) -> tuple[str, pa.DataType]:
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})", pa.decimal128(
            dtype.precision or 38, dtype.scale
        )
    return _SPARK_TYPES[dtype.base_type()]


def spark_ddl() -> str:
    return ", ".join(f"{name} {_field(dtype)[0]}" for name, dtype in OUTPUT_SCHEMA.items())


def arrow_schema() -> pa.Schema:
    return pa.schema([(name, _field(dtype)[1]) for name, dtype in OUTPUT_SCHEMA.items()])
