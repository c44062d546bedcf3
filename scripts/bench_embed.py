#!/usr/bin/env python3
"""Sentence embeddings per second: ours beside sentence-transformers (torch) and onnxruntime.

Run by `scripts/bench.sh embed` with a virtualenv holding sentence-transformers, tokenizers and
onnxruntime, and the ONNX export that scripts/make_embedding_fixture.py writes into the model
directory. Same texts, same threads (1 and 2), batch 1 and 32, short (~12 tokens) and 128-token
texts, all in one run; prints the table for docs/BENCHMARKS.md.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

MODEL_DIR, ROOT = sys.argv[1], sys.argv[2]
# Where to leave the texts, for the browser benchmark that runs next on the same ones.
TEXTS_OUT = sys.argv[3] if len(sys.argv) > 3 else None


def corpus(tokenizer):
    subjects = ["The network", "A browser", "My laptop", "The relay", "Every worker", "This page",
                "A native node", "The submitter"]
    verbs = ["computes", "verifies", "shares", "encrypts", "ranks", "embeds", "stores", "sends"]
    objects = ["idle cycles today.", "sealed payloads quickly.", "vectors for search.",
               "credits to contributors.", "results with a quorum.", "the shard replicas."]
    short = [f"{s} {v} {o}" for s in subjects for v in verbs for o in objects][:256]
    words = ("vector embedding network browser relay worker ledger credit verify result task model "
             "layer attention token sentence shard replica collection search index query").split()
    long = []
    for i in range(64):
        text, n = [], 0
        while True:
            text.append(words[(i * 7 + n * 3) % len(words)])
            n += 1
            if len(tokenizer.encode(" ".join(text)).ids) >= 128:
                text.pop()
                break
        long.append(" ".join(text))
    return {"short": short, "long": long}


def measure(run, texts, batch):
    run(texts[:batch])
    start, done = time.perf_counter(), 0
    while done < len(texts) or time.perf_counter() - start < 2.0:
        i = done % len(texts)
        chunk = texts[i:i + batch]
        run(chunk)
        done += len(chunk)
    return done / (time.perf_counter() - start)


def main():
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    # The file pads every text to 128 tokens; sentence-transformers pads to the batch's longest.
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    texts = corpus(tokenizer)
    rows = []
    model = SentenceTransformer(MODEL_DIR, device="cpu")
    for threads in [1, 2]:
        torch.set_num_threads(threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(os.path.join(MODEL_DIR, "model.onnx"), options,
                                       providers=["CPUExecutionProvider"])

        def onnx(batch):
            enc = tokenizer.encode_batch(batch)
            n = max(len(e.ids) for e in enc)
            ids = np.array([e.ids + [0] * (n - len(e.ids)) for e in enc], dtype=np.int64)
            mask = np.array([[1] * len(e.ids) + [0] * (n - len(e.ids)) for e in enc], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

        def st(batch):
            return model.encode(batch, batch_size=len(batch), convert_to_numpy=True)

        for name, texts_of in texts.items():
            for batch in [1, 32]:
                for impl, run in [("torch", st), ("onnxruntime", onnx)]:
                    rows.append({"impl": impl, "set": name, "threads": threads, "batch": batch,
                                 "per_s": measure(run, texts_of, batch)})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    if TEXTS_OUT:
        with open(TEXTS_OUT, "w", encoding="utf-8") as out:
            json.dump(texts, out)
    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "edgenet-embed", "--example", "embed_bench", "--",
         MODEL_DIR, f.name], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    ours = [json.loads(line) for line in out.splitlines()]
    os.unlink(f.name)
    by = {(r["impl"], r["set"], r["threads"], r["batch"]): r["per_s"] for r in rows}
    backend = ours[0]["backend"]
    print(f"| texts | threads | batch | ours ({backend}) /s | onnxruntime /s | vs ORT | "
          "sentence-transformers /s | vs torch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in ours:
        key = (r["set"], r["threads"], r["batch"])
        o, t = by[("onnxruntime",) + key], by[("torch",) + key]
        label = f'{r["set"]} ({r["tokens"]} tokens)'
        print(f'| {label} | {r["threads"]} | {r["batch"]} | {r["per_s"]:,.1f} | {o:,.1f} | '
              f'{r["per_s"] / o:.2f}× | {t:,.1f} | {r["per_s"] / t:.2f}× |')


if __name__ == "__main__":
    main()
