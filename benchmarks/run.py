"""Benchmarks: measure the pipeline and rewrite the matching sections of BENCHMARKS.md.

    python benchmarks/run.py                 # every section
    python benchmarks/run.py --only etl      # one section; the others in BENCHMARKS.md are kept

Each measurement runs in a fresh child process that reports its own wall time and peak memory
(``ru_maxrss``), so one measurement's memory never leaks into the next. Data is generated under
``--work`` (default ``data/bench``) and reused across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "BENCHMARKS.md"


# --------------------------------------------------------------------------- plumbing

def measure(code: str, **env) -> dict:
    """Run ``code`` in a child Python; it sets ``result`` (a dict). Adds seconds and peak MB."""
    program = "\n".join([
        "import json, resource, sys, time",
        "_t0 = time.perf_counter()",
        "result = {}",
        textwrap.dedent(code),
        "result['wall_s'] = time.perf_counter() - _t0",
        "result['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024",
        "print('BENCH-RESULT ' + json.dumps(result))",
    ])
    proc = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env})
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("BENCH-RESULT ")][-1]
    return json.loads(line.removeprefix("BENCH-RESULT "))


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = names[0] if names else platform.processor() or cpu
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    import pandas, pyarrow, torch  # noqa: E401  (versions only)
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM; {platform.platform()}; "
            f"Python {platform.python_version()}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, "
            f"torch {torch.__version__}; commit {commit}")


def ensure_city(work: Path, n_listings: int) -> Path:
    """Generate (once) a 12-month synthetic city of ``n_listings`` under ``work``."""
    city = work / f"city-{n_listings}"
    if not (city / "city.json").is_file():
        print(f"generating synthetic city with {n_listings} listings in {city} ...", flush=True)
        res = measure(f"""
            from airbnb.synthetic import CityConfig, generate_city
            generate_city({str(city)!r}, CityConfig(n_listings={n_listings}), progress=False)
        """)
        (work / f"city-{n_listings}.generate.json").write_text(json.dumps(res))
    return city


# --------------------------------------------------------------------------- sections

def bench_etl(work: Path) -> str:
    rows = []
    for n_listings, label in [(40_000, "New York scale"), (85_000, "≥ 1M listing-months")]:
        city = ensure_city(work, n_listings)
        gen = json.loads((work / f"city-{n_listings}.generate.json").read_text())
        res = measure(f"""
            from airbnb import etl
            summary = etl.run_etl({str(city)!r}, {str(city / 'reviews.csv.gz')!r},
                                  {str(work / f'table-{n_listings}.parquet')!r})
            result["rows_in"] = summary["steps"][0]["rows_in"]
            result["rows_out"] = summary["rows_out"]
            result["reviews"] = summary["weight_method"]["reviews_read"]
        """)
        rows.append(
            f"| {label}: {n_listings:,} listings × 12 snapshots | {res['rows_in']:,} | {res['reviews']:,} "
            f"| {res['rows_out']:,} | {res['wall_s']:.1f} s | {res['rows_in'] / res['wall_s']:,.0f} "
            f"| {res['peak_mb'] / 1024:.2f} GB | {gen['wall_s']:.0f} s |")
    return "\n".join([
        "## ETL (raw Inside Airbnb files → modeling table)",
        "",
        "Synthetic city (`airbnb.synthetic`, seed 42, 12 monthly `listings.csv.gz` snapshots + "
        "`reviews.csv.gz`), ETL with the reviews file (`airbnb.etl.run_etl`, which includes hashing "
        "the inputs and writing Parquet + summary). Rows/s counts listing rows read. "
        "Target for New York scale: ≤ 60 s and ≤ 4 GB peak memory.",
        "",
        "| data | listing rows read | reviews | table rows | wall | rows/s | peak memory | generating the city |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])


SECTIONS = {"etl": bench_etl}


# --------------------------------------------------------------------------- BENCHMARKS.md

def update_markdown(results: dict[str, str], command: str) -> None:
    """Replace (or append) each measured section between its markers; keep the others."""
    text = OUTPUT.read_text() if OUTPUT.exists() else "# Benchmarks\n\nWritten by `benchmarks/run.py`.\n"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, body in results.items():
        block = (f"<!-- section:{name} -->\n{body}\n\n_Measured {stamp} on: {machine()}._  \n"
                 f"_Command: `{command}`_\n<!-- /section:{name} -->")
        pattern = re.compile(rf"<!-- section:{name} -->.*?<!-- /section:{name} -->", re.S)
        text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    OUTPUT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="sections to run (default: all)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench"), help="where benchmark data is kept")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.only or SECTIONS:
        print(f"== {name}", flush=True)
        results[name] = SECTIONS[name](work)
        print(results[name], flush=True)
    update_markdown(results, "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))


if __name__ == "__main__":
    main()
