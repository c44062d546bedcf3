"""hnswlib on the files crates/kernels/examples/index_bench.rs wrote: the same data, M,
ef_construction and ef, one thread, one graph per seed (hnswlib's random_seed); prints the
means as one JSON line.

python3 scripts/bench_hnswlib.py DIR DIM M EF_CONSTRUCTION SEEDS EF...   (SEEDS: 1,2,3)
"""
import json
import sys
import time

import hnswlib
import numpy as np

d = sys.argv[1]
dim, m, efc = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seeds = [int(x) for x in sys.argv[5].split(",")]
efs = [int(x) for x in sys.argv[6:]]
db = np.fromfile(f"{d}/database.f32", dtype="<f4").reshape(-1, dim)
qs = np.fromfile(f"{d}/queries.f32", dtype="<f4").reshape(-1, dim)
truth = np.fromfile(f"{d}/truth.u32", dtype="<u4").reshape(len(qs), -1)
k = truth.shape[1]
PASSES = 5

build_s = 0.0
qps = [0.0] * len(efs)
recall = [0.0] * len(efs)
for seed in seeds:
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=len(db), M=m, ef_construction=efc, random_seed=seed)
    index.set_num_threads(1)
    t = time.perf_counter()
    index.add_items(db, np.arange(len(db)), num_threads=1)
    build_s += time.perf_counter() - t
    for e, ef in enumerate(efs):
        index.set_ef(ef)
        # All queries in one call, on one thread: hnswlib's own C++ loop, no Python per query.
        # The fastest of PASSES passes counts, as in index_bench.rs.
        best = 0.0
        for _ in range(PASSES):
            t = time.perf_counter()
            labels, _ = index.knn_query(qs, k=k, num_threads=1)
            best = max(best, len(qs) / (time.perf_counter() - t))
        qps[e] += best
        recall[e] += sum(len(set(l.tolist()) & set(tr.tolist())) for l, tr in zip(labels, truth)) / truth.size
runs = len(seeds)
points = [{"ef": ef, "qps": qps[e] / runs, "recall": recall[e] / runs} for e, ef in enumerate(efs)]
print(json.dumps({"seeds": runs, "build_s": build_s / runs, "build_per_s": len(db) * runs / build_s, "points": points}))
