"""Experiment (issue 16's 1.3 target): v1's backtest on the ASSISTments 2017 subset with the
cohort's rates (base, theme and question rates of other students) counted before the answer's
hour, as the kernel counts them (a table per question and hour instead of a sort of every
answer's instant), and before its day: what a coarser count costs in prediction. (Before the
instant, the kernel of 7d4ca1a: AUC 0.7533, log loss 0.5790, ECE 0.0090.)

    python -m benchmarks.experiments.v1_rate_granularity

Imports the subset into a fresh DuckDB file, replays v1 (default params) over the whole period
with the rates as the kernel counts them and before the day (the student's own sums keep
their instants), and prints AUC, log loss and ECE of each. Not part of
``make bench``: it informs the choice of v1's form, it does not guard a figure.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import polars as pl

from pipeline import init_database
from pipeline.contracts.params_v1 import default_params_v1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Window, extract_from_store
from pipeline.io.store import open_store
from pipeline.kernel import v1
from pipeline.kernel.metrics import evaluate
from pipeline.kernel.replay import TIME, History, Period, prepared
from pipeline.tools.assistments import import_assistments

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "assist2017_lpp"
PERIOD = Period(datetime(2004, 9, 17, tzinfo=UTC), datetime(2007, 5, 23, tzinfo=UTC))
HISTORY_DAYS = 3650  # every answer of the subset before the period's end


def replayed(frame: pl.DataFrame, every: str | None) -> pl.DataFrame:
    """v1's replay with the cohort's rates counted before each answer's ``every`` (None: its
    hour, as the kernel does), joined with the outcomes."""
    history = History(frame)
    params = default_params_v1()
    if every is None:
        out = v1.replay_v1(history, PERIOD, params)
    else:
        coarse = History(frame.with_columns(pl.col(TIME).dt.truncate(every)))
        rates = v1.answer_rates(coarse, params)  # (rows aligned: same rows, same order)
        with mock.patch.object(v1, "answer_rates", return_value=rates):
            out = v1.replay_v1(history, PERIOD, params)
    return history.rows.select("row", "correct").join(out, on="row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"duckdb:///{folder}/assist.duckdb"
        init_database(url)
        import_assistments(url, args.data)
        store = open_store(url)
        extracted = extract_from_store(store, Window(Scope(), PERIOD.end, HISTORY_DAYS))
        store.close()
    frame = prepared(extracted.attempts)
    for every in (None, "1d"):
        rows = replayed(frame, every)
        m = evaluate(rows, "v1")
        label = every or "1h"
        print(f"rates before the {label:8s} attempts {rows.height:,}  AUC {m.auc:.4f}  "
              f"log loss {m.log_loss:.4f}  ECE {m.ece:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
