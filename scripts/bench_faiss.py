#!/usr/bin/env python3
"""faiss IndexFlatIP on the data scan_bench wrote: the well-known peer for the kernels benchmark.

Usage: bench_faiss.py DATA_DIR DIM THREADS   (prints one JSON line)
"""
import json
import sys
import time

import faiss
import numpy as np

data_dir, dim, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
faiss.omp_set_num_threads(threads)
database = np.fromfile(f"{data_dir}/database.f32", dtype="<f4").reshape(-1, dim)
queries = np.fromfile(f"{data_dir}/queries.f32", dtype="<f4").reshape(-1, dim)
index = faiss.IndexFlatIP(dim)
index.add(database)


def best(runs, f):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


one = best(10, lambda: index.search(queries[:1], 10))
batch = best(3, lambda: index.search(queries, 10))
print(json.dumps({"faiss": faiss.__version__, "nq1_qps": 1 / one, "nq64_qps": len(queries) / batch,
                  "nq1_gbs": database.nbytes / one / 1e9}))
