"""hnswlib on the files crates/kernels/examples/index_bench.rs wrote: the same data, M,
ef_construction and ef, one thread. Prints one JSON line.

python3 scripts/bench_hnswlib.py DIR DIM M EF_CONSTRUCTION EF...
"""
import json
import sys
import time

import hnswlib
import numpy as np

d = sys.argv[1]
dim, m, efc = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
efs = [int(x) for x in sys.argv[5:]]
db = np.fromfile(f"{d}/database.f32", dtype="<f4").reshape(-1, dim)
qs = np.fromfile(f"{d}/queries.f32", dtype="<f4").reshape(-1, dim)
truth = np.fromfile(f"{d}/truth.u32", dtype="<u4").reshape(len(qs), -1)
k = truth.shape[1]

index = hnswlib.Index(space="cosine", dim=dim)
index.init_index(max_elements=len(db), M=m, ef_construction=efc, random_seed=100)
index.set_num_threads(1)
t = time.perf_counter()
index.add_items(db, np.arange(len(db)), num_threads=1)
build_s = time.perf_counter() - t
points = []
for ef in efs:
    index.set_ef(ef)
    t = time.perf_counter()
    # All queries in one call, on one thread: hnswlib's own C++ loop, no Python per query.
    labels, _ = index.knn_query(qs, k=k, num_threads=1)
    secs = time.perf_counter() - t
    found = sum(len(set(l.tolist()) & set(tr.tolist())) for l, tr in zip(labels, truth))
    points.append({"ef": ef, "qps": len(qs) / secs, "recall": found / truth.size})
print(json.dumps({"build_s": build_s, "build_per_s": len(db) / build_s, "points": points}))
