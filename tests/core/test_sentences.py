"""Sentences follow punctuation, not the line breaks of wrapped text; titles, datelines and lists stay apart."""

from __future__ import annotations

from core.sentences import Sentence, pack_sentences, sentence_spans, sentences, unpack_sentences

WIRE = """Cambodia and South Korea agree on a joint task force

2025-11-04

PHNOM PENH, Nov 4 - Cambodia and South Korea agreed on Monday to set up a
joint special task force against online fraud, officials of both
countries said. The task force will share information on scam compounds
and on the South Korean citizens held in them.

Officials listed three steps:
- a hotline for families of the workers
- joint raids on the compounds
1. repatriation flights"""


def _texts(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_wrapped_lines_are_one_sentence_until_its_punctuation():
    cut = _texts(WIRE)
    assert cut[:3] == ["Cambodia and South Korea agree on a joint task force", "2025-11-04",
                       "PHNOM PENH, Nov 4 - Cambodia and South Korea agreed on Monday to set up a\njoint special "
                       "task force against online fraud, officials of both\ncountries said."]
    assert cut[3] == ("The task force will share information on scam compounds\n"
                      "and on the South Korean citizens held in them.")
    assert cut[4:] == ["Officials listed three steps:", "- a hotline for families of the workers",
                       "- joint raids on the compounds", "1. repatriation flights"]


def test_a_pdf_text_layer_reads_as_sentences():
    page = ("The ministry said that 1,200 workers had been freed from compounds in the border\n"
            "town since January. Most of them came from Indonesia and Vietnam.\n"
            "Page 2")
    assert _texts(page) == [
        "The ministry said that 1,200 workers had been freed from compounds in the border\ntown since January.",
        "Most of them came from Indonesia and Vietnam.", "Page 2"]


def test_sentences_carry_the_quoted_part_and_pack_round_trip():
    text = ("Southeast Asia Information Port News (www.dnyxxg.com) \u2013 On November 3, 2025, the minister met "
            "the ambassador. Both sides agreed to cooperate.")
    cut = sentences(text)
    assert [text[s.quote_start:s.end] for s in cut] == ["On November 3, 2025, the minister met the ambassador.",
                                                        "Both sides agreed to cooperate."]
    assert cut[0].start == 0 and cut[1].start == cut[1].quote_start
    assert unpack_sentences(pack_sentences(cut, offset=0)) == cut
    moved = [Sentence(a + 100, q + 100, b + 100) for a, q, b in cut]
    assert unpack_sentences(pack_sentences(moved, offset=100), offset=100) == moved
    assert unpack_sentences("1,2") == [] and unpack_sentences("") == []
