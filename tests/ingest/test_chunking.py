"""Chunks are whole sentences, overlap, keep exact offsets and never exceed the model's limit."""

from __future__ import annotations

from datetime import date

import pytest

from core.records import Article
from core.tokens import count_tokens
from ingest.chunking import Chunker, embedding_header
from tests.conftest import SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder, target_tokens=180, overlap_tokens=40)


def _check(chunker, article: Article) -> list:
    chunks = chunker.chunk(article)
    assert chunks, "every article with text yields chunks"
    counts = chunker.model.count_tokens(chunker.embed_texts(article, chunks))
    assert max(counts) <= chunker.model.max_seq_length
    for i, c in enumerate(chunks):
        assert article.text[c.start:c.end] == c.text
        assert c.ordinal == i
    return chunks


def test_seed_chunks_are_sentence_aligned_and_overlap(chunker):
    from core.sentences import sentence_spans

    text = SEED.read_text(encoding="utf-8")
    article = Article(id="seed", text=text, title="Cambodia and South Korea", published=date(2025, 11, 4))
    chunks = _check(chunker, article)
    starts = {a for a, _ in sentence_spans(text)}
    ends = {b for _, b in sentence_spans(text)}
    assert all(c.start in starts and c.end in ends for c in chunks)
    assert len(chunks) >= 3
    # Consecutive chunks share the trailing sentences that fit in the 40-token overlap.
    for a, b in zip(chunks, chunks[1:]):
        last = [s for s in sentence_spans(text, a.start, a.end)][-1]
        if count_tokens(text[last[0]:last[1]]) <= 40:
            assert b.start <= last[0], "a short last sentence is repeated at the start of the next chunk"
    assert any(a.end > b.start for a, b in zip(chunks, chunks[1:]))
    assert all(count_tokens(c.text) <= 180 + 60 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())


@pytest.mark.parametrize(
    "text",
    [
        "x" * 5000,  # one enormous "word"
        " ".join(f"word{i}" for i in range(3000)),  # one run-on sentence
        "캄보디아와 한국은 온라인 사기 대응 협력을 강화하기로 했다 " * 300,  # Korean without sentence ends
        "រដ្ឋាភិបាលកម្ពុជាបានយល់ព្រម" * 200,  # Khmer without spaces
        "Short. " * 2000,  # thousands of tiny sentences
        "Line one\n\n\nLine two\n" * 500,
    ],
)
def test_adversarial_text_never_exceeds_the_model_limit(chunker, text):
    article = Article(id="x", text=text.strip(), title="A title " * 40, published=date(2025, 1, 1))
    chunks = _check(chunker, article)
    covered = "".join(article.text[c.start:c.end] for c in chunks)
    assert len(covered) >= len(article.text.replace(" ", "").replace("\n", "")) * 0.5


def test_header_carries_title_and_date_but_stored_text_is_the_articles(chunker):
    article = Article(id="a", text="One sentence here. Another one there.", title="Title", published=date(2025, 2, 3))
    [chunk] = chunker.chunk(article)
    assert embedding_header(article) == "Title | 2025-02-03\n"
    assert chunker.embed_texts(article, [chunk]) == ["Title | 2025-02-03\nOne sentence here. Another one there."]
    assert chunk.text == article.text


def test_the_header_setting_chooses_what_is_embedded_before_each_chunk(embedder):
    from core.settings import Settings

    article = Article(id="a", text="One sentence here. Another one there.", title="Title", published=date(2025, 2, 3))
    embedded = {}
    for kind in ("title_date", "title", "none"):
        chunker = Chunker.from_settings(embedder, Settings(embedding_header=kind, _env_file=None))
        [chunk] = chunker.chunk(article)
        assert chunk.text == article.text  # what is stored and quoted never changes
        [embedded[kind]] = chunker.embed_texts(article, [chunk])
    assert embedded == {"title_date": "Title | 2025-02-03\n" + article.text, "title": "Title\n" + article.text,
                        "none": article.text}
    with pytest.raises(ValueError, match="embedding header must be one of"):
        Chunker(embedder, header="summary")


class JoiningTokenizer:
    """A model tokenizer whose counts do not add up: joining sentences costs extra tokens, as with a
    tokenizer that merges across the space between them. The count of a text is its words plus the
    square of its sentence count; each sentence alone counts its words plus one."""

    max_seq_length = 64

    def count_tokens(self, texts):
        from core.sentences import sentence_spans

        return [len(t.split()) + 3 * len(sentence_spans(t)) ** 2 + 2 for t in texts]

    def token_ends(self, text):
        import re

        return [m.end() for m in re.finditer(r"\S+", text)]


@pytest.mark.parametrize("model", ["minilm", "joining"])
def test_every_sentence_is_in_some_chunk_whatever_the_tokenizer(embedder, model):
    """A window that the estimate says fits but the tokenizer does not gives back its last sentences to
    the next window; none is dropped (the chunker used to trim them off and lose them)."""
    from core.sentences import sentence_spans

    tokens = embedder if model == "minilm" else JoiningTokenizer()
    chunker = Chunker(tokens, target_tokens=180 if model == "minilm" else 60, overlap_tokens=10)
    sentences = [f"Sentence {i} says that police in province {i} arrested {i + 3} people on Monday."
                 for i in range(12 if model == "joining" else 80)]
    article = Article(id="s", text=" ".join(sentences), title="Arrests", published=date(2025, 1, 1))
    chunks = _check(chunker, article)
    for a, b in sentence_spans(article.text):
        assert any(c.start <= a and b <= c.end for c in chunks), f"in no chunk: {article.text[a:b]!r}"
