"""Benchmarks: measure the pipeline and rewrite the matching sections of BENCHMARKS.md.

    python benchmarks/run.py                 # every section
    python benchmarks/run.py --only etl      # one section; the others in BENCHMARKS.md are kept
    python benchmarks/run.py --quick --only training literal   # tiny sizes, check the harness only

Sections: etl, embeddings, training, literal (vs ``benchmarks/literal_spec.py``), smoke_notebook.

Each measurement runs in a fresh child process that reports its own wall time and peak memory
(``ru_maxrss``), so one measurement's memory never leaks into the next. Data is generated under
``--work`` (default ``data/bench``) and reused across runs.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from functools import lru_cache
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


def ensure_table(work: Path, n_listings: int) -> Path:
    """The modeling table of the ``n_listings`` synthetic city (city generated and ETL run once)."""
    table = work / f"table-{n_listings}.parquet"
    if not table.is_file():
        city = ensure_city(work, n_listings)
        print(f"building {table} ...", flush=True)
        measure(f"""
            from airbnb import etl
            etl.run_etl({str(city)!r}, {str(city / 'reviews.csv.gz')!r}, {str(table)!r})
        """)
    return table


def scratch_dir(work: Path, prefix: str) -> Path:
    """A fresh empty directory under ``work`` (an empty embedding cache, notebook outputs)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=work))


def fmt_s(seconds: float) -> str:
    if seconds >= 600:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds:,.1f} s" if seconds >= 1 else f"{seconds * 1000:,.0f} ms"


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


# Sizes of the model-side sections; ``--quick`` shrinks them to check the harness itself.
SIZES = {"city": 40_000, "train_rows": 200_000, "sentence_subset": 1_000, "literal_rows": 2_000,
         "literal_rows_1024": 1_024, "epochs": 2}
QUICK_SIZES = {"city": 40_000, "train_rows": 20_000, "sentence_subset": 40, "literal_rows": 128,
               "literal_rows_1024": 0, "epochs": 1}
BATCH_SIZES = (64, 1024)


def embed_child(table: Path, encoding: str, cache: Path, subset: int = 0) -> dict:
    """Embed the amenities of every table row (or of ``subset`` random distinct lists) in a fresh process."""
    return measure(f"""
        import numpy as np, pandas as pd
        from airbnb.embeddings import AmenityEmbedder
        amenities = pd.read_parquet({str(table)!r}, columns=["amenities"])["amenities"].to_numpy()
        lists = pd.unique(amenities)
        result["distinct_lists_city"] = len(lists)
        if {subset}:
            lists = np.random.default_rng(42).choice(lists, {subset}, replace=False)
            amenities = lists
        embedder = AmenityEmbedder(encoding={encoding!r}, cache_dir={str(cache)!r}, progress=False)
        t0 = time.perf_counter()
        embedder.dim  # loads the model only when the cache is empty
        t1 = time.perf_counter()
        vectors = embedder.embed(amenities)
        t2 = time.perf_counter()
        result.update(rows=len(amenities), distinct_lists=len(lists), encoded=embedder.n_encoded,
                      from_cache=embedder.n_cache_hits, model_loaded=embedder.model_loaded,
                      load_s=t1 - t0, embed_s=t2 - t1, shape=list(vectors.shape))
    """)


def prefill_sentence_cache(table: Path, cache: Path) -> dict:
    """Store a placeholder unit vector for every distinct sentence text of ``table`` (no model run)."""
    return measure(f"""
        import numpy as np, pandas as pd
        from airbnb.embeddings import AmenityEmbedder, parse_amenities, sentence_text
        lists = pd.unique(pd.read_parquet({str(table)!r}, columns=["amenities"])["amenities"].to_numpy())
        texts = sorted({{sentence_text(parse_amenities(t)) for t in lists}})
        vectors = np.random.default_rng(0).standard_normal((len(texts), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        AmenityEmbedder(encoding="sentence", cache_dir={str(cache)!r}, progress=False).cache.put_many(texts, vectors)
        result["texts"] = len(texts)
    """)


def _embed_row(label: str, cache: str, res: dict) -> str:
    texts = res["encoded"] + res["from_cache"]
    return (f"| {label} | {cache} | {res['rows']:,} | {res['distinct_lists']:,} | {texts:,} | {res['encoded']:,} "
            f"| {fmt_s(res['load_s']) if res['model_loaded'] else 'not loaded'} | {fmt_s(res['embed_s'])} "
            f"| {texts / res['embed_s']:,.0f} | {fmt_s(res['wall_s'])} | {res['peak_mb'] / 1024:.2f} GB |")


def bench_embeddings(work: Path) -> str:
    table = ensure_table(work, SIZES["city"])
    n = SIZES["sentence_subset"]
    runs = {}
    for encoding in ("bag", "sentence"):
        cache = scratch_dir(work, f"cache-{encoding}")
        try:
            subset = n if encoding == "sentence" else 0
            runs[encoding, "cold"] = embed_child(table, encoding, cache, subset)
            runs[encoding, "warm"] = embed_child(table, encoding, cache, subset)
            if encoding == "sentence":
                shutil.rmtree(cache)
                cache.mkdir()
                prefill_sentence_cache(table, cache)
                runs[encoding, "warm-full"] = embed_child(table, encoding, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    bag, cold = runs["bag", "cold"], runs["sentence", "cold"]
    full = cold["distinct_lists_city"]
    rate = cold["encoded"] / cold["embed_s"]
    rows = [
        _embed_row("bag, whole city", "cold", bag),
        _embed_row("bag, whole city", "warm", runs["bag", "warm"]),
        _embed_row(f"sentence, {n:,} random distinct lists", "cold", cold),
        f"| **sentence, whole city (extrapolated)** | cold | {bag['rows']:,} | {full:,} | ≈ {full:,} | ≈ {full:,} "
        f"| {fmt_s(cold['load_s'])} | **≈ {fmt_s(full / rate)}** | {rate:,.0f} "
        f"| ≈ {fmt_s(cold['wall_s'] - cold['embed_s'] + full / rate)} | – |",
        _embed_row(f"sentence, {n:,} random distinct lists", "warm", runs["sentence", "warm"]),
        _embed_row("sentence, whole city", "warm (pre-filled)", runs["sentence", "warm-full"]),
    ]
    n_rows = f"{bag['rows']:,}"
    return "\n".join([
        "## Amenity embeddings (`airbnb.embeddings.AmenityEmbedder`)",
        "",
        f"The amenities of every row of the New-York-scale table (`table-{SIZES['city']}.parquet`, {n_rows} rows) "
        "embedded with `all-MiniLM-L6-v2` (bundled weights, CPU), each in a new process. *Cold*: a fresh empty "
        "cache directory; *warm*: the same directory, new process. `bag` encodes each distinct amenity string "
        "once (the texts are amenity names); `sentence` encodes each distinct SPEC §4 sentence (one per distinct "
        "amenity list). *Model load* is the `SentenceTransformer` load (a warm cache never loads it); "
        "*embed()* is `AmenityEmbedder.embed` on all rows (hashing, cache reads/writes, transformer, "
        "assembling the (rows × 384) matrix); texts/s = distinct texts / embed() wall; *process* includes "
        "imports and reading the table.",
        "",
        f"The cold sentence encoding of the whole city would take many minutes on this CPU, so it is measured "
        f"on {SIZES['sentence_subset']:,} distinct amenity lists drawn at random (seed 42) and **extrapolated** "
        "linearly to the city's distinct lists (bold row). The warm sentence cache is measured on that subset "
        "(filled by the cold run) and on the whole city with a cache pre-filled with placeholder unit vectors "
        "for every distinct sentence (a warm run only reads the cache, so the values do not matter; 0 texts "
        "encoded and the model not loaded confirm it).",
        "",
        "| encoding, rows | cache | rows | distinct lists | distinct texts | texts encoded | model load "
        "| embed() wall | texts/s | process wall | peak memory |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])


# --------------------------------------------------------------------------- training

def fill_cache(table: Path, rows: int, cache: Path, encoding: str = "bag") -> dict:
    """Encode (untimed) the amenities of the first ``rows`` rows into ``cache``."""
    return measure(f"""
        import pandas as pd
        from airbnb.embeddings import AmenityEmbedder
        amenities = pd.read_parquet({str(table)!r}, columns=["amenities"])["amenities"].iloc[:{rows}]
        embedder = AmenityEmbedder(encoding={encoding!r}, cache_dir={str(cache)!r}, progress=False)
        embedder.embed(amenities.to_numpy())
        result["encoded"] = embedder.n_encoded
    """)


@lru_cache(maxsize=None)
def ours_training(work: Path, rows: int, epochs: int) -> dict:
    """Our pipeline on the first ``rows`` table rows, embeddings cached: preparation, then epochs per batch size."""
    table = ensure_table(work, SIZES["city"])
    cache = scratch_dir(work, "cache-train")
    try:
        fill_cache(table, rows, cache)
        return measure(f"""
            import pandas as pd, torch
            from airbnb.dataset import AirbnbDataset, make_loader
            from airbnb.embeddings import AmenityEmbedder
            from airbnb.features import FeatureProcessor
            from airbnb.model import AdditiveAxisModel, ModelConfig
            from airbnb.training.step import train_one_epoch

            def lap(name, since):
                now = time.perf_counter()
                result[name] = now - since
                return now

            t = time.perf_counter()
            df = pd.read_parquet({str(table)!r}).iloc[:{rows}].reset_index(drop=True)
            t = lap("read_s", t)
            processor = FeatureProcessor().fit(df)
            t = lap("fit_s", t)
            data = processor.transform(df)
            t = lap("transform_s", t)
            embedder = AmenityEmbedder(encoding="bag", cache_dir={str(cache)!r}, progress=False)
            dataset = AirbnbDataset(data, embedder=embedder)
            t = lap("dataset_s", t)
            result.update(rows=len(dataset), encoded=embedder.n_encoded, model_loaded=embedder.model_loaded,
                          threads=torch.get_num_threads())
            for threads, batch_size in [(None, b) for b in {BATCH_SIZES!r}] + [(1, b) for b in {BATCH_SIZES!r}]:
                if threads:  # diagnostic: the same epochs with one intra-op thread
                    torch.set_num_threads(threads)
                torch.manual_seed(42)
                model = AdditiveAxisModel(ModelConfig(processor.vocab_sizes, amenity_dim=dataset.amenity_table.shape[1],
                                                      location_dim=processor.location.dim))
                model.set_target_scale(float(df["target_price"].mean()), float(df["target_price"].std()))
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
                loader = make_loader(dataset, batch_size, shuffle=True, seed=42)
                times = []
                for _ in range({epochs}):
                    t = time.perf_counter()
                    train_one_epoch(model, loader, optimizer, torch.device("cpu"), loss="mse")  # SPEC §6
                    times.append(time.perf_counter() - t)
                result[f"epoch_s_{{batch_size}}" + (f"_t{{threads}}" if threads else "")] = times
            # the default training configuration: its ensemble stacked, two hidden layers per axis,
            # amenity indicators, log-price target, weight decay and the moving average of the weights
            from airbnb.train import Prepared, TrainConfig
            from airbnb.training.ensemble import init_members
            from airbnb.training.loop import make_optimizer, weight_average
            torch.set_num_threads(result["threads"])
            config = TrainConfig()
            data = Prepared(df, pd.Series("train", index=df.index), processor, {{"train": dataset}}, embedder)
            result["default"] = dict(ensemble=config.ensemble_size, hidden_layers=config.hidden_layers,
                                     multihot=len(processor.amenity_vocabulary_.names))
            for batch_size in {BATCH_SIZES!r}:
                model = init_members(config, data)  # exactly what airbnb.train builds
                optimizer = make_optimizer(config, model)
                average = weight_average(model, config.weight_average)
                loader = make_loader(dataset, batch_size, shuffle=True, seed=42)
                times = []
                for _ in range({epochs}):
                    t = time.perf_counter()
                    train_one_epoch(model, loader, optimizer, torch.device("cpu"), average=average,
                                    loss=config.loss)
                    times.append(time.perf_counter() - t)
                result[f"default_epoch_s_{{batch_size}}"] = times
        """)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def epoch_s(res: dict, batch_size: int) -> float:
    """The slower of the measured epochs (the conservative figure)."""
    return max(res[f"epoch_s_{batch_size}"])


def bench_training(work: Path) -> str:
    res = ours_training(work, SIZES["train_rows"], SIZES["epochs"])
    n = res["rows"]
    prep = res["fit_s"] + res["transform_s"] + res["dataset_s"]
    epoch_rows = []
    for batch_size in BATCH_SIZES:
        times = res[f"epoch_s_{batch_size}"]
        target = " (target < 5 s: " + ("met" if epoch_s(res, 1024) < 5 else "**not met**") + ")" \
            if batch_size == 1024 else ""
        one = res[f"epoch_s_{batch_size}_t1"]
        epoch_rows.append(f"| {batch_size} | {-(-n // batch_size):,} | {' / '.join(fmt_s(t) for t in times)}{target} "
                          f"| {n / epoch_s(res, batch_size):,.0f} | {' / '.join(fmt_s(t) for t in one)} "
                          f"| {n / max(one):,.0f} |")
    return "\n".join([
        "## Training epoch (our pipeline)",
        "",
        f"The first {n:,} rows of `table-{SIZES['city']}.parquet`, in one process on the CPU "
        f"({res['threads']} torch threads): `FeatureProcessor.fit` + `transform`, `AirbnbDataset` (bag "
        "encoding; its embedding cache was filled beforehand by another process, so "
        f"{res['encoded']} texts were encoded here), then per batch size a fresh `AdditiveAxisModel`, Adam "
        f"(lr 1e-3), `make_loader(shuffle=True)` and `airbnb.training.step.train_one_epoch` for {SIZES['epochs']} "
        "epoch(s). Rows/s uses the slower epoch. Preparation is a one-off cost per run and is reported "
        "separately. Target: one epoch of 200k rows at batch 1024 in under 5 s. The last two columns repeat "
        "the epochs after `torch.set_num_threads(1)` (a diagnostic, not what `airbnb.train` does): this model's "
        "tensors are tiny, so a second intra-op thread helps little on an idle machine and costs a lot when "
        "other processes compete for the cores (each small op waits for a descheduled thread); read them "
        "with the load average below.",
        "",
        "| one-off preparation | wall |",
        "|---|---|",
        f"| read Parquet | {fmt_s(res['read_s'])} |",
        f"| `FeatureProcessor.fit` | {fmt_s(res['fit_s'])} |",
        f"| `FeatureProcessor.transform` | {fmt_s(res['transform_s'])} |",
        f"| `AirbnbDataset` (embeddings from the cache) | {fmt_s(res['dataset_s'])} |",
        f"| **total (fit + transform + dataset)** | **{fmt_s(prep)}** |",
        "",
        "| batch size | steps per epoch | epoch wall (each epoch) | rows/s | 1 thread: epoch wall | 1 thread: rows/s |",
        "|---|---|---|---|---|---|",
        *epoch_rows,
        "",
        f"The **default training configuration** on the same rows: {res['default']['ensemble']} members "
        f"stacked into one batched model, {res['default']['hidden_layers']} hidden layers per axis, "
        f"{res['default']['multihot']} amenity indicators, log-price target, weight decay and the moving "
        "average of the weights updated every step (what `python -m airbnb.train` runs by default; the "
        "`--preset original` run is the single model above).",
        "",
        "| batch size | epoch wall (each epoch) | rows/s | × the single SPEC model's epoch |",
        "|---|---|---|---|",
        *[f"| {b} | {' / '.join(fmt_s(t) for t in res[f'default_epoch_s_{b}'])} "
          f"| {n / max(res[f'default_epoch_s_{b}']):,.0f} "
          f"| {max(res[f'default_epoch_s_{b}']) / epoch_s(res, b):.1f}× |" for b in BATCH_SIZES],
        "",
        f"Peak memory of the process: {res['peak_mb'] / 1024:.2f} GB; process wall {fmt_s(res['wall_s'])}.",
    ])


# --------------------------------------------------------------------------- literal specification

LITERAL_IMPORT = f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import literal_spec as L"


def check_literal(table: Path, rows: int) -> None:
    """Stop the benchmark unless the literal transform computes our features on the first rows."""
    measure(f"""
        {LITERAL_IMPORT}
        import pandas as pd
        L.check_equivalence(pd.read_parquet({str(table)!r}).iloc[:{rows}].reset_index(drop=True))
    """)


def literal_transform(table: Path, rows: int) -> dict:
    return measure(f"""
        {LITERAL_IMPORT}
        import pandas as pd
        df = pd.read_parquet({str(table)!r}).iloc[:{rows}].reset_index(drop=True)
        t = time.perf_counter()
        processor = L.LiteralFeatureProcessor().fit(df)
        result["fit_s"] = time.perf_counter() - t
        t = time.perf_counter()
        processor.transform(df)
        result["transform_s"] = time.perf_counter() - t
        result["rows"] = len(df)
    """)


def literal_epoch(table: Path, pool_rows: int, rows: int, batch_size: int) -> dict:
    """One literal epoch on ``rows`` rows drawn at random from the first ``pool_rows``."""
    return measure(f"""
        {LITERAL_IMPORT}
        import pandas as pd, torch
        torch.manual_seed(42)
        df = pd.read_parquet({str(table)!r}).iloc[:{pool_rows}].sample({rows}, random_state=42)
        t = time.perf_counter()
        processor, dataset, loader, model, criterion, optimizer = L.build_training(df, {batch_size})
        result["prepare_s"] = time.perf_counter() - t
        t = time.perf_counter()
        L.train_one_epoch(model, loader, optimizer, criterion, torch.device("cpu"))
        result["epoch_s"] = time.perf_counter() - t
        result["rows"] = len(df)
    """)


def bench_literal(work: Path) -> str:
    table = ensure_table(work, SIZES["city"])
    n = SIZES["train_rows"]
    check_literal(table, SIZES["literal_rows"])
    ours = ours_training(work, n, SIZES["epochs"])
    lit_tf = literal_transform(table, n)
    runs = {64: literal_epoch(table, n, SIZES["literal_rows"], 64)}
    if SIZES["literal_rows_1024"]:
        runs[1024] = literal_epoch(table, n, SIZES["literal_rows_1024"], 1024)
    rows = [f"| `FeatureProcessor.transform`, {n:,} rows | {fmt_s(lit_tf['transform_s'])} (measured) "
            f"| {fmt_s(ours['transform_s'])} | {lit_tf['transform_s'] / ours['transform_s']:,.0f}× | – |"]
    ratios = []
    for batch_size in BATCH_SIZES:
        lit = runs.get(batch_size, runs[64])
        scaled = lit["epoch_s"] / lit["rows"] * n
        ratio = scaled / epoch_s(ours, batch_size)
        ratios.append(ratio)
        basis = (f"{lit['rows']:,} rows at batch {batch_size}" if batch_size in runs
                 else f"{lit['rows']:,} rows at batch 64 (per-row cost, batch size barely matters)")
        rows.append(f"| one epoch, {n:,} rows, batch {batch_size} | ≈ {fmt_s(scaled)} (extrapolated from "
                    f"{fmt_s(lit['epoch_s'])} on {basis}; {lit['rows'] / lit['epoch_s']:,.1f} rows/s) "
                    f"| {fmt_s(epoch_s(ours, batch_size))} ({n / epoch_s(ours, batch_size):,.0f} rows/s) "
                    f"| **{ratio:,.0f}×** | {'met' if ratio >= 100 else '**not met**'} |")
    return "\n".join([
        "## Our pipeline vs a literal implementation of the training specification",
        "",
        "`benchmarks/literal_spec.py` implements `04_MODEL_TRAINING_INSTRUCTIONS.md` with SPEC §4 the way a "
        "developer following them step by step would: `FeatureProcessor.transform` walks the rows with "
        "`iterrows` (it computes the same features as ours, checked by `literal_spec.check_equivalence`), "
        "`AirbnbDataset.__getitem__` builds one row's tensors and calls `SentenceTransformer.encode` on that "
        "listing's amenity sentence, `DataLoader(dataset, batch_size, shuffle=True)` with default collation, "
        "the same `AdditiveAxisModel`, `nn.MSELoss(reduction='none')` times the weight, Adam. CPU, "
        "`table-40000.parquet`.",
        "",
        f"The literal transform is measured on all {n:,} rows. A literal epoch is measured on "
        f"{SIZES['literal_rows']:,} rows drawn at random from those rows (batch 64)"
        + (f" and on {SIZES['literal_rows_1024']:,} rows (batch 1024)" if SIZES["literal_rows_1024"] else "")
        + f" and **extrapolated linearly to {n:,} rows** (its cost is one transformer call per row, so it is "
        "linear in rows). Ours: the slower of the epochs in the training section (embeddings cached). "
        "Target: ours ≥ 100× faster per epoch.",
        "",
        "| step | literal specification | ours | ratio | target ≥ 100× |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Literal preparation on the {runs[64]['rows']:,}-row subset (fit, iterrows transform, loading the "
        f"sentence transformer): {fmt_s(runs[64]['prepare_s'])}; literal `fit` on {n:,} rows: "
        f"{fmt_s(lit_tf['fit_s'])} (ours {fmt_s(ours['fit_s'])}).",
    ])


# --------------------------------------------------------------------------- smoke notebook

DEFAULT_TABLE = "data/processed/default-city.parquet"


def bench_smoke_notebook(work: Path) -> str:
    if not (REPO / DEFAULT_TABLE).is_file():
        print(f"building {DEFAULT_TABLE} ...", flush=True)
        subprocess.run([sys.executable, "-m", "airbnb.etl"], cwd=REPO, check=True,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
    scratch = scratch_dir(work, "smoke")
    try:
        out_nb, artifacts, cache = scratch / "train.ipynb", scratch / "artifacts", scratch / "cache"
        cache.mkdir()
        argv = [sys.executable, "-m", "papermill", "notebooks/train.ipynb", str(out_nb), "-p", "smoke_test", "True",
                "-p", "data_path", DEFAULT_TABLE, "-p", "output_dir", str(artifacts)]
        # AIRBNB_CACHE_DIR is a fresh empty directory: the notebook run starts with a cold embedding cache
        res = measure(f"""
            import subprocess
            proc = subprocess.run({argv!r}, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
            result["children_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        """, AIRBNB_CACHE_DIR=str(cache))
        cells = json.loads(out_nb.read_text())["cells"]
        durations = [c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in cells]
        train_cell = next(d for c, d in zip(cells, durations) if "train.train(" in "".join(c["source"]))
        config = json.loads((artifacts / "model_config.json").read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    emb = config.get("embeddings", {})
    encoded = f"{emb['encoded']:,} ({emb['from_cache']:,})" if "encoded" in emb else "–"
    train_s = fmt_s(config["seconds"]) if "seconds" in config else "–"
    return "\n".join([
        "## Smoke notebook on a fresh embedding cache",
        "",
        "`papermill notebooks/train.ipynb out.ipynb -p smoke_test True -p data_path "
        f"{DEFAULT_TABLE} -p output_dir <temp dir>`, run from the repository root as a child process with "
        "`AIRBNB_CACHE_DIR` set to a new empty directory (so the amenity embeddings are computed from scratch "
        "and the sentence transformer is loaded). Wall is the whole papermill command (kernel start, imports, "
        "all cells). Target: under 60 s.",
        "",
        "| papermill wall | all cells | training cell | `train.train()` | texts encoded (cache hits) "
        "| peak memory (largest process) | target < 60 s |",
        "|---|---|---|---|---|---|---|",
        f"| **{fmt_s(res['wall_s'])}** | {fmt_s(sum(durations))} | {fmt_s(train_cell)} | {train_s} "
        f"| {encoded} | {res['children_peak_mb'] / 1024:.2f} GB "
        f"| {'met' if res['wall_s'] < 60 else '**not met**'} |",
    ])


def bench_checkpoint(work: Path) -> str:
    """Cost of the full per-epoch checkpoint (resume support) next to the epoch it protects."""
    if not (REPO / DEFAULT_TABLE).is_file():
        subprocess.run([sys.executable, "-m", "airbnb.etl"], cwd=REPO, check=True, capture_output=True)
    res = measure(f"""
        import tempfile, torch
        from pathlib import Path
        from airbnb import train
        out = Path(tempfile.mkdtemp())
        config = train.TrainConfig(data_path={str(REPO / DEFAULT_TABLE)!r}, output_dir=str(out), epochs=3,
                                   progress=False)
        trained = train.train(config)
        optimizer = torch.optim.Adam(trained.model.parameters())
        from airbnb.training.checkpoint import LoopState, save_checkpoint
        state = LoopState(epoch=3, history=trained.history.to_dict("records"))
        t = time.perf_counter()
        for _ in range(10):
            save_checkpoint(out / "bench.pt", config, trained.model, optimizer, None, state)
        result["save_s"] = (time.perf_counter() - t) / 10
        result["size_kb"] = (out / "bench.pt").stat().st_size / 1024
        result["epoch_s"] = float(trained.history["seconds"].mean())
        result["rows"] = int((trained.splits == "train").sum())
    """)
    share = res["save_s"] / res["epoch_s"]
    return "\n".join([
        "## Checkpoint overhead (resume support)",
        "",
        "`airbnb.train` writes a full checkpoint (model, optimizer, loop state, RNG states; atomically) "
        f"after every epoch. Default synthetic city table ({res['rows']:,} training rows, batch 64): the mean "
        "epoch of a 3-epoch run against the mean of 10 `save_checkpoint` calls in the same process.",
        "",
        "| epoch (train + validation) | checkpoint write | checkpoint size | overhead per epoch |",
        "|---|---|---|---|",
        f"| {fmt_s(res['epoch_s'])} | {res['save_s'] * 1000:.1f} ms | {res['size_kb']:,.0f} KB | {100 * share:.2f}% |",
    ])


def bench_tuning(work: Path) -> str:
    """Optuna trials per minute on the smoke city (default table, smoke_test trials)."""
    if not (REPO / DEFAULT_TABLE).is_file():
        subprocess.run([sys.executable, "-m", "airbnb.etl"], cwd=REPO, check=True, capture_output=True)
    rows = []
    for threads in (0, 1):
        res = measure(f"""
            import dataclasses, tempfile
            from airbnb import train, tune
            base = train.TrainConfig(data_path={str(REPO / DEFAULT_TABLE)!r}, smoke_test=True, threads={threads})
            config = tune.TuneConfig(base=base, n_trials=20, study_dir=tempfile.mkdtemp(), champion_dir="")
            t = time.perf_counter()
            outcome = tune.tune(config)
            result["tune_s"] = time.perf_counter() - t
            result["trials"] = len(outcome.trials)
        """)
        rows.append(f"| {'torch default (2)' if threads == 0 else threads} | {res['trials']} | {fmt_s(res['tune_s'])} "
                    f"| {60 * res['trials'] / res['tune_s']:.0f} |")
    return "\n".join([
        "## Hyperparameter search throughput (`airbnb.tune`)",
        "",
        "A 20-trial Optuna study (TPE, median pruning) on the default synthetic city with `smoke_test=True` "
        "trials (first 1,000 rows, one epoch each), embeddings cached; the table is prepared once and shared "
        "by all trials. Wall time of `tune.tune` (study, trials, trials.csv, best_params.yaml).",
        "",
        "| torch threads | trials | wall | trials per minute |",
        "|---|---|---|---|",
        *rows,
    ])


SECTIONS = {"etl": bench_etl, "embeddings": bench_embeddings, "training": bench_training,
            "literal": bench_literal, "smoke_notebook": bench_smoke_notebook, "checkpoint": bench_checkpoint,
            "tuning": bench_tuning}


# --------------------------------------------------------------------------- BENCHMARKS.md

def this_command() -> str:
    """How this benchmark was started, as BENCHMARKS.md quotes it under each section."""
    return "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])


def update_markdown(results: dict[str, str], command: str | None = None) -> None:
    """Replace (or append) each measured section between its markers, stamped with the machine and
    ``command`` (default: :func:`this_command`); keep the others."""
    command = command or this_command()
    text = OUTPUT.read_text() if OUTPUT.exists() else "# Benchmarks\n\nWritten by `benchmarks/run.py`.\n"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, body in results.items():
        block = (f"<!-- section:{name} -->\n{body}\n\n_Measured {stamp} on: {machine()}._  \n"
                 f"_Command: `{command}`_\n<!-- /section:{name} -->")
        pattern = re.compile(rf"<!-- section:{name} -->.*?<!-- /section:{name} -->", re.S)
        text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    OUTPUT.write_text(text)


def work_folder(folder: str) -> Path:
    """A benchmark's work folder, made; the package offline (no model hub) and quiet below warnings
    (a benchmark prints its own progress)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("airbnb").setLevel(logging.WARNING)
    work = Path(folder).resolve()
    work.mkdir(parents=True, exist_ok=True)
    return work


def publish(section: str, body: str, started: float, write: bool = True) -> str:
    """A benchmark's finished section: ``body`` with its whole duration since ``started``
    (``time.perf_counter()``), printed, and written to BENCHMARKS.md unless ``write`` is False."""
    body += f"\n\nWhole benchmark: {(time.perf_counter() - started) / 60:.0f} min."
    print(body, flush=True)
    if write:
        update_markdown({section: body})
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="sections to run (default: all)")
    parser.add_argument("--work", default=str(REPO / "data" / "bench"), help="where benchmark data is kept")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes to check the harness; prints results, leaves BENCHMARKS.md alone")
    args = parser.parse_args()
    if args.quick:
        SIZES.update(QUICK_SIZES)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.only or SECTIONS:
        print(f"== {name}", flush=True)
        before = os.getloadavg()[0]
        body = SECTIONS[name](work)
        results[name] = (f"{body}\n\nLoad average (1 min) when the section started / ended: {before:.1f} / "
                         f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine slows "
                         "every figure).")
        print(results[name], flush=True)
    if not args.quick:
        update_markdown(results)


if __name__ == "__main__":
    main()
