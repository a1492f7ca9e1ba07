"""The ETL's two engines on the ≥ 1M-listing-month synthetic city: wall time and peak memory.

    python benchmarks/spark_etl.py [--cores 1 2 4] [--driver-memory 2g] [--work data/bench]

The city (85,000 listings x 12 monthly snapshots + reviews, seed 42) is the one the ETL section of
``benchmarks/run.py`` uses, generated once under ``--work``. Each run is a fresh child process:
the pandas engine (``airbnb.etl.run_etl``), then the Spark engine (``--engine spark``) on
``local[N]`` for each ``--cores``. Spark's memory is sampled every 0.2 s: the Python driver, the
JVM (in local mode the driver and the executors are one JVM) and the Python workers, and their
sum at one moment. The two engines' tables are compared row by row. Writes the ``spark_etl``
section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from run import REPO, ensure_city, measure, update_markdown  # benchmarks/run.py

from airbnb.schema import read_table

N_LISTINGS = 85_000

SPARK_CHILD = """
import logging, re, threading, psutil
from airbnb import etl
from airbnb.etl import spark as etl_spark

phases = {{}}

class Phases(logging.Handler):  # the engine logs how long each of its phases took
    def emit(self, record):
        found = re.fullmatch(r"spark: (.+): ([0-9.]+) s", record.getMessage())
        if found:
            phases[found.group(1)] = float(found.group(2))

logging.getLogger("airbnb.etl").addHandler(Phases())
logging.getLogger("airbnb.etl").setLevel(logging.INFO)

me, peaks, stop = psutil.Process(), {{"jvm": 0, "workers": 0, "total": 0}}, threading.Event()

def sample():
    while not stop.wait(0.2):
        jvm = workers = 0
        for child in me.children(recursive=True):
            try:
                rss = child.memory_info().rss
                if "java" in child.name():
                    jvm += rss
                else:
                    workers += rss
            except psutil.Error:
                pass
        for key, value in (("jvm", jvm), ("workers", workers), ("total", jvm + workers + me.memory_info().rss)):
            peaks[key] = max(peaks[key], value)

threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
spark = etl_spark.session(etl.EtlConfig(spark_master="local[{cores}]", spark_conf=["spark.driver.memory={memory}"]))
result["session_s"] = time.perf_counter() - t
t = time.perf_counter()
summary = etl_spark.run_etl({city!r}, {reviews!r}, {output!r}, spark=spark)
result["etl_s"] = time.perf_counter() - t
stop.set()
result.update(rows_in=summary["steps"][0]["rows_in"], rows_out=summary["rows_out"], phases=phases,
              **{{f"{{k}}_mb": v / 2**20 for k, v in peaks.items()}})
spark.stop()
"""


def gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", nargs="+", type=int, default=[1, 2, 4], help="local[N] runs of the Spark engine")
    parser.add_argument("--driver-memory", default="2g", help="spark.driver.memory (the local JVM's heap)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench"), help="where the city and the tables go")
    args = parser.parse_args()
    work = Path(args.work)
    city = ensure_city(work, N_LISTINGS)
    load_before = os.getloadavg()[0]
    reviews = city / "reviews.csv.gz"
    pandas_out = work / f"table-{N_LISTINGS}.parquet"
    print("== pandas engine", flush=True)
    by_pandas = measure(f"""
        from airbnb import etl
        summary = etl.run_etl({str(city)!r}, {str(reviews)!r}, {str(pandas_out)!r})
        result.update(rows_in=summary["steps"][0]["rows_in"], rows_out=summary["rows_out"])
    """)
    print(by_pandas, flush=True)
    runs = {}
    for cores in args.cores:
        print(f"== spark local[{cores}]", flush=True)
        output = work / f"table-{N_LISTINGS}-spark-{cores}"
        runs[cores] = measure(SPARK_CHILD.format(cores=cores, memory=args.driver_memory, city=str(city),
                                                 reviews=str(reviews), output=str(output)))
        print(runs[cores], flush=True)
    a = read_table(pandas_out).to_pandas()
    identical = []
    for cores in args.cores:
        b = read_table(work / f"table-{N_LISTINGS}-spark-{cores}").to_pandas()
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=0)
        identical.append(f"local[{cores}]")

    load_after = os.getloadavg()[0]
    base = by_pandas["wall_s"]
    rows = [f"| pandas (one process) | {base:.1f} s | – | – | 1.00 | {gb(by_pandas['peak_mb'])} | – | – | – |"]
    for cores, res in runs.items():
        note = " (more tasks than the 2 cores)" if cores > (os.cpu_count() or 1) else ""
        rows.append(
            f"| Spark local[{cores}]{note} | {res['wall_s']:.1f} s | {res['session_s']:.1f} s | {res['etl_s']:.1f} s "
            f"| {res['wall_s'] / base:.2f} | {gb(res['peak_mb'])} | {gb(res['jvm_mb'])} | {gb(res['workers_mb'])} "
            f"| {gb(res['total_mb'])} |")
    profile = [f"| {phase} | " + " | ".join(f"{runs[c]['phases'].get(phase, 0):.1f} s" for c in runs) + " |"
               for phase in runs[args.cores[0]]["phases"]]
    two = runs.get(2)
    verdict = "" if two is None else (
        f"On 2 cores Spark takes **{two['wall_s'] / base:.2f}×** the pandas wall time "
        f"({'within' if two['wall_s'] <= 2 * base else 'outside'} the 2× target; without starting the JVM "
        f"{two['etl_s'] / base:.2f}×). Its Python driver peaks at {gb(two['peak_mb'])} against the pandas "
        f"process's {gb(by_pandas['peak_mb'])}; the whole local Spark (driver, JVM, workers) peaks at "
        f"{gb(two['total_mb'])}.")
    body = "\n".join([
        "## ETL engines: pandas vs Spark local (`benchmarks/spark_etl.py`)",
        "",
        f"The ≥ 1M-listing-month synthetic city ({N_LISTINGS:,} listings × 12 monthly snapshots, "
        f"{by_pandas['rows_in']:,} listing rows read, its reviews file; {by_pandas['rows_out']:,} table rows), "
        "each engine in a fresh process. Spark: `airbnb.etl.spark.run_etl` on `local[N]` with "
        f"`spark.driver.memory={args.driver_memory}`; *wall* includes starting the JVM (*session*). Memory: "
        "peak RSS of the Python driver (`ru_maxrss`), and sampled every 0.2 s, the JVM (driver and executors "
        "in local mode), the Python workers (summed) and everything together at one moment. The tables of "
        f"every run are identical row by row (checked: {', '.join(identical)}).",
        "",
        "| engine | wall | session | ETL | × pandas | Python driver peak | JVM peak | workers peak | all together peak |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        verdict,
        "",
        "Where the Spark engine's time goes (its logged phases; the rest of *ETL* is planning, hashing the "
        "inputs and publishing):",
        "",
        "| phase | " + " | ".join(f"local[{c}]" for c in runs) + " |",
        "|---|" + "---|" * len(runs),
        *profile,
        "",
        "Why: the first phase is the Python parsing on the workers — the same functions, and per snapshot file "
        "about the CPU the pandas engine spends on it — each worker writing its file's parsed rows straight to "
        "Parquet in a scratch folder; Spark reads from there only the columns each later step needs, and never "
        "shuffles the wide rows (650 characters of amenity text each): the latest scrape is ranked only when a "
        "(listing, month) can repeat, and the review windows are computed on the keys and sent whole to every "
        "task. Each worker also returns its file's first counts and review-score statistics, so what is left is "
        "Spark's own cost of three passes over the million rows (the review windows with the reviews read; the "
        "remaining counts with the fill values, the rows per city and the neighbourhood groups; the partitioned "
        "write, then the listings counted in it: seconds each, more in a fresh JVM that is still compiling its "
        "code) and 10–20 s to start the JVM. On 2 cores the JVM's threads "
        "compete with the Python workers for the same cores, so a second local core gains less than 2×. Spark's "
        "memory, unlike pandas', does not grow with the input: it is bounded by the heap and one file per worker.",
        "",
        f"Load average (1 min) when the benchmark started / ended: {load_before:.1f} / {load_after:.1f} on "
        f"{os.cpu_count()} cores (other work on the machine slows every figure).",
    ])
    print(body)
    update_markdown({"spark_etl": body})


if __name__ == "__main__":
    main()
