#!/usr/bin/env python3
"""The bulk issue's peer, run on the same machine as the dry run: Splink with DuckDB scoring
pre-paired records (BENCHMARKS.md, "Whole rosters").

    python3 -m venv /tmp/splinkenv && /tmp/splinkenv/bin/pip install 'splink==5.0.0' duckdb pandas
    /usr/bin/time -f "%e s %U u %S s %M KB" /tmp/splinkenv/bin/python benches/splink_peer.py ROSTER.csv

ROSTER.csv is a `gen-roster --kind reverse` file: each row pairs the insurer's record with
J-LIS's. The pairs become two tables joined on the row (a blocking rule on the pair id, so
every pair is compared once and nothing else is), with the five comparisons the issue names:
exact on sex and birth date, Jaro-Winkler on both names, Levenshtein on the address; no
Japanese normalization, no audit, fixed model parameters (no training). Prints the time to
load the data and to score the pairs; the whole script's time and memory come from `time`.
"""
import sys
import time

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

started = time.perf_counter()
con = duckdb.connect()
fields = ["kanji_name", "kana_name", "birth_date", "sex", "address"]
con.execute(f"CREATE TABLE roster AS SELECT row_number() OVER () AS pair_id, * "
            f"FROM read_csv('{sys.argv[1]}', all_varchar = true)")
con.execute("CREATE TABLE record AS SELECT pair_id AS unique_id, pair_id, "
            + ", ".join(fields) + " FROM roster")
con.execute("CREATE TABLE jlis AS SELECT pair_id AS unique_id, pair_id, "
            + ", ".join(f"jlis_{f} AS {f}" for f in fields) + " FROM roster")
db_api = DuckDBAPI(connection=con)
settings = SettingsCreator(
    link_type="link_only",
    blocking_rules_to_generate_predictions=[block_on("pair_id")],
    comparisons=[
        cl.ExactMatch("sex").configure(m_probabilities=[0.99, 0.01], u_probabilities=[0.5, 0.5]),
        cl.ExactMatch("birth_date").configure(
            m_probabilities=[0.98, 0.02], u_probabilities=[0.0001, 0.9999]),
        cl.JaroWinklerAtThresholds("kanji_name", [0.9, 0.7]).configure(
            m_probabilities=[0.9, 0.05, 0.03, 0.02], u_probabilities=[0.001, 0.01, 0.1, 0.889]),
        cl.JaroWinklerAtThresholds("kana_name", [0.9, 0.7]).configure(
            m_probabilities=[0.9, 0.05, 0.03, 0.02], u_probabilities=[0.001, 0.01, 0.1, 0.889]),
        cl.LevenshteinAtThresholds("address", [2, 5]).configure(
            m_probabilities=[0.8, 0.1, 0.05, 0.05], u_probabilities=[0.001, 0.01, 0.05, 0.939]),
    ],
    retain_intermediate_calculation_columns=False,
)
linker = Linker([db_api.register("record"), db_api.register("jlis")], settings)
loaded = time.perf_counter()
scored = linker.inference.predict(warning_mode="never")
pairs = con.execute(f"SELECT count(*) FROM {scored.physical_name}").fetchone()[0]
done = time.perf_counter()
print(f"loaded in {loaded - started:.2f} s, scored {pairs:,} pairs in {done - loaded:.2f} s, "
      f"{done - started:.2f} s in all", file=sys.stderr)
