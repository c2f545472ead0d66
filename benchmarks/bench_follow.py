"""`mastery follow` under a steady stream of submits: submit-to-fresh-row lag (issue 17).

    createdb -T bench_m bench_follow_1
    python -m benchmarks.bench_follow \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_follow_1 --seconds 300

Writes to the database it is given (a private copy of a cohort, never a shared one). Starts
``mastery follow`` as a subprocess (``--interval``, ``--since`` the benchmark's start), then
submits ``--rate`` sessions a second for ``--seconds``: each a SUBMITTED session of a random
user of the cohort with ``--answers`` answers to random questions (their current version),
committed in ticks of a tenth of a second, ``submitted_at`` the instant of the insert.

A session is fresh when a SUCCESS run whose scope holds its user and whose ``as_of`` is at or
after the session's commit has committed (a run's ``as_of`` is the follower's poll instant, so
that poll saw the session). The benchmark polls ``algo_runs`` every 0.1 s: ``lag`` is the
seconds from the session's commit to the run's ``completed_at``; ``seen_lag`` to the poll that
saw it (at most 0.1 s more). After the stream it waits up to ``--drain`` seconds for the rest,
stops the worker with SIGTERM, and checks every submitted user's rows against a dry-run
recompute of that user as of the ``as_of`` of the run that wrote them (all columns but id,
computed_at, run_id; ``--verify-users`` caps how many users, at random; the users of missed
sessions are always checked). ``missed_covered``: of the sessions no run was seen to cover,
those whose user's stored rows come from a run as of their ``submitted_at`` or later (the
session was read; the client noted its commit a little after the poll). Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psycopg

from pipeline.api import recompute
from pipeline.io.url import parse_database_url
from pipeline.run.spec import RunOptions, RunSpec

MASTERY = str(Path(sys.executable).with_name("mastery"))
TICK = 0.1
POOL = """SELECT DISTINCT CAST(user_id AS text) FROM test_sessions
          WHERE submitted_at > now() - interval '60 days'"""
QUESTIONS = """SELECT DISTINCT ON (question_id) CAST(question_id AS text), CAST(id AS text)
               FROM question_versions
               WHERE year IS NOT NULL AND block_id IS NOT NULL AND theme_id IS NOT NULL
                   AND difficulty IS NOT NULL
               ORDER BY question_id, version DESC"""
COPY_SESSIONS = """COPY test_sessions (id, user_id, mode, status, created_at, submitted_at)
                   FROM STDIN"""
COPY_QUESTIONS = """COPY session_questions
                        (id, session_id, question_id, question_version_id, position)
                    FROM STDIN"""
COPY_ANSWERS = """COPY session_answers
                      (id, session_id, question_id, selected_index, is_correct, answered_at)
                  FROM STDIN"""
WARM = [
    "SELECT count(*) FROM test_sessions",
    "SELECT count(*), max(answered_at) FROM session_answers",
    "SELECT count(*), max(position) FROM session_questions",
    "SELECT count(*) FROM user_theme_mastery",
]
RUNS = """SELECT CAST(id AS text), status, completed_at, CAST(input_summary_json AS text)
          FROM algo_runs WHERE started_at >= %s AND status <> 'RUNNING'"""
ROWS = """SELECT CAST(m.user_id AS text) AS user_id, m.theme_id, m.year, m.block_id,
                 m.attempts_total, m.correct_total, CAST(m.accuracy_pct AS text) AS accuracy_pct,
                 CAST(m.mastery_score AS text) AS mastery_score, m.last_attempt_at,
                 CAST(m.breakdown_json AS text) AS breakdown_json,
                 CAST(r.input_summary_json ->> 'as_of' AS text) AS as_of
          FROM user_theme_mastery AS m JOIN algo_runs AS r ON r.id = m.run_id
          WHERE m.user_id = ANY (CAST(%s AS uuid[]))"""


class Stream:
    """What was submitted (session -> user, commit instant) and when each became fresh."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, list[tuple[str, float]]] = defaultdict(list)  # user -> sessions
        self.submitted: dict[str, tuple[str, float]] = {}
        self.lag: dict[str, float] = {}
        self.seen_lag: dict[str, float] = {}
        self.runs: dict[str, str] = {}  # run id -> status
        self.failed_runs: list[str] = []

    def add(self, sessions: list[tuple[str, str]], committed: float) -> None:
        with self.lock:
            for session, user in sessions:
                self.pending[user].append((session, committed))
                self.submitted[session] = (user, committed)

    def fresh(self, users: list[str], as_of: float, completed: float, seen: float) -> None:
        with self.lock:
            for user in users:
                kept = []
                for session, committed in self.pending.get(user, []):
                    if as_of >= committed:
                        self.lag[session] = completed - committed
                        self.seen_lag[session] = seen - committed
                    else:
                        kept.append((session, committed))
                if user in self.pending:
                    self.pending[user] = kept

    def waiting(self) -> int:
        with self.lock:
            return sum(len(sessions) for sessions in self.pending.values())


def _submit(libpq: str, stream: Stream, args: argparse.Namespace, stop: threading.Event) -> None:
    rng = random.Random(args.seed)
    with psycopg.connect(libpq, autocommit=True) as conn:
        users = [row[0] for row in conn.execute(POOL).fetchall()]
        questions = conn.execute(QUESTIONS).fetchall()
        per_tick = max(1, round(args.rate * TICK))
        began = time.monotonic()
        tick = 0
        while time.monotonic() - began < args.seconds and not stop.is_set():
            now = datetime.now(UTC)
            sessions: list[tuple[Any, ...]] = []
            links: list[tuple[Any, ...]] = []
            answers: list[tuple[Any, ...]] = []
            for _ in range(per_tick):
                session, user = str(uuid.uuid4()), rng.choice(users)
                sessions.append((session, user, "TUTOR", "SUBMITTED", now, now))
                for position, (question, version) in enumerate(rng.sample(questions, args.answers)):
                    links.append((uuid.uuid4(), session, question, version, position))
                    answers.append((uuid.uuid4(), session, question, 0, rng.random() < 0.6, now))
            with conn.transaction(), conn.cursor() as cursor:
                for statement, rows in (
                    (COPY_SESSIONS, sessions),
                    (COPY_QUESTIONS, links),
                    (COPY_ANSWERS, answers),
                ):
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
            stream.add([(str(s[0]), str(s[1])) for s in sessions], time.time())
            tick += 1
            time.sleep(max(0.0, began + tick * TICK - time.monotonic()))


def _observe(libpq: str, stream: Stream, since: datetime, stop: threading.Event) -> None:
    with psycopg.connect(libpq, autocommit=True) as conn:
        while not stop.is_set():
            seen = time.time()
            for run_id, status, completed, summary in conn.execute(RUNS, (since,)).fetchall():
                if run_id in stream.runs:
                    continue
                stream.runs[run_id] = status
                if status != "SUCCESS":
                    stream.failed_runs.append(run_id)
                    continue
                data = json.loads(summary)
                users = data["scope"]["users"]
                as_of = datetime.fromisoformat(data["as_of"]).timestamp()
                stream.fresh(
                    users if isinstance(users, list) else [], as_of, completed.timestamp(), seen
                )
            time.sleep(TICK)


COVERED = """
SELECT count(*) FROM test_sessions AS s
WHERE s.id = ANY (CAST(%s AS uuid[])) AND EXISTS (
    SELECT 1 FROM user_theme_mastery AS m JOIN algo_runs AS r ON r.id = m.run_id
    WHERE m.user_id = s.user_id
      AND CAST(CAST(r.input_summary_json AS json) ->> 'as_of' AS timestamptz) >= s.submitted_at
)
"""


def _covered(libpq: str, sessions: list[str]) -> int:
    """Of the sessions no run was seen to cover (its ``as_of`` before the instant this client
    noted after the commit returned, which a poll can fall behind), how many their user's
    stored rows cover: rows of a run as of their ``submitted_at`` or later."""
    if not sessions:
        return 0
    with psycopg.connect(libpq) as conn:
        row = conn.execute(COVERED, ("{" + ",".join(sessions) + "}",)).fetchone()
    return int(row[0]) if row else 0


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def _verify(url: str, libpq: str, users: list[str]) -> dict[str, Any]:
    """Each user's rows against a dry-run recompute as of the instant their run used."""
    with psycopg.connect(libpq) as conn, conn.cursor() as cursor:
        cursor.execute(ROWS, ("{" + ",".join(users) + "}",))
        names = [c.name for c in cursor.description or ()]
        stored = pl.DataFrame(cursor.fetchall(), schema=names, orient="row")
    groups = stored.group_by("as_of").agg(pl.col("user_id").unique())
    mismatched: set[str] = set()
    examples: list[dict[str, Any]] = []
    compared = 0
    with tempfile.TemporaryDirectory(prefix="bench-follow-") as folder:
        for as_of, group in groups.iter_rows():
            output = Path(folder) / f"{uuid.uuid4()}.parquet"
            spec = RunSpec.of(datetime.fromisoformat(as_of), group)
            recompute(url, spec, RunOptions(dry_run=True, output=output, trigger="test"))
            # Stale rows too: zeroed as a run leaves them (the stage has no year or block for
            # them; the table keeps its own).
            expected = pl.read_parquet(output)
            stale = {_key(row) for row in expected.filter(pl.col("stale")).iter_rows(named=True)}
            mine = stored.filter(pl.col("user_id").is_in(group))
            want = {_key(r): _norm(r, _key(r) in stale) for r in expected.iter_rows(named=True)}
            have = {_key(r): _norm(r, _key(r) in stale) for r in mine.iter_rows(named=True)}
            compared += len(want)
            for key in set(want) | set(have):
                if want.get(key) != have.get(key):
                    mismatched.add(key[0])
                    if len(examples) < 3:
                        pair = {"want": want.get(key), "have": have.get(key)}
                        examples.append({"key": key, "as_of": as_of, **pair})
    return {
        "users": len(users),
        "rows_compared": compared,
        "users_differing": len(mismatched),
        "examples": examples,
    }


def _key(row: dict[str, Any]) -> tuple[str, int]:
    return (str(row["user_id"]), int(row["theme_id"]))


def _norm(row: dict[str, Any], stale: bool) -> tuple[Any, ...]:
    last = row["last_attempt_at"]
    return (
        None if stale else row["year"],
        None if stale else row["block_id"],
        row["attempts_total"],
        row["correct_total"],
        str(row["accuracy_pct"]),
        str(row["mastery_score"]),
        last.astimezone(UTC) if last else None,
        json.dumps(json.loads(row["breakdown_json"]), sort_keys=True),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=100.0, help="sessions per second")
    parser.add_argument("--answers", type=int, default=20, help="answers per session")
    parser.add_argument("--interval", type=float, default=0.5, help="follow --interval")
    parser.add_argument("--batch-users", type=int, default=50, help="follow --batch-users")
    parser.add_argument("--drain", type=float, default=60.0)
    parser.add_argument("--verify-users", type=int, default=0, help="0: every submitted user")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = args.database_url
    libpq = parse_database_url(url).conninfo
    since = datetime.now(UTC)
    log_path = Path(tempfile.gettempdir()) / f"bench-follow-{os.getpid()}.log"
    command = [MASTERY, "follow", "--database-url", url, "--since", since.isoformat()]
    command += ["--interval", str(args.interval), "--batch-users", str(args.batch_users)]
    stream, stop = Stream(), threading.Event()
    with psycopg.connect(libpq, autocommit=True) as conn:  # a warm database, as in production
        for sql in WARM:
            conn.execute(sql)
    load = {"start": os.getloadavg()}
    with log_path.open("w") as log:
        worker = subprocess.Popen(command, stderr=log, stdout=log)
        observer = threading.Thread(target=_observe, args=(libpq, stream, since, stop))
        try:
            time.sleep(3.0)  # the worker's imports and first poll
            observer.start()
            submit_began = time.time()
            _submit(libpq, stream, args, stop)
            submit_seconds = time.time() - submit_began
            load["end_of_stream"] = os.getloadavg()
            deadline = time.time() + args.drain
            while stream.waiting() and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            if observer.is_alive():
                observer.join()
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
    users = sorted({user for user, _ in stream.submitted.values()})
    missed = [s for s in stream.submitted if s not in stream.lag]
    chosen = users
    if args.verify_users and len(users) > args.verify_users:
        chosen = sorted(random.Random(args.seed).sample(users, args.verify_users))
        chosen = sorted(set(chosen) | {stream.submitted[s][0] for s in missed})
    verified = _verify(url, libpq, chosen)
    lines = log_path.read_text().splitlines()
    result = {
        "database": str(parse_database_url(url)),
        "seconds": args.seconds,
        "submit_seconds": round(submit_seconds, 2),
        "rate_asked": args.rate,
        "sessions": len(stream.submitted),
        "rate_achieved": round(len(stream.submitted) / max(submit_seconds, 1e-9), 1),
        "users": len(users),
        "answers_per_session": args.answers,
        "interval": args.interval,
        "lag_s": _percentiles(list(stream.lag.values())),
        "seen_lag_s": _percentiles(list(stream.seen_lag.values())),
        "missed_sessions": len(missed),
        "missed_covered": _covered(libpq, missed),
        "runs": len(stream.runs),
        "failed_runs": len(stream.failed_runs),
        "worker_exit_code": code,
        "worker_errors": [line for line in lines if "error" in line][:5],
        "worker_last_line": lines[-1] if lines else "",
        "verify": verified,
        "loadavg": {key: [round(v, 2) for v in value] for key, value in load.items()},
        "log": str(log_path),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
