"""An answer taken away as Markdown, CSV or JSON: the same citations in each, links that open the page at the
quoted sentence, and article words that cannot turn into spreadsheet formulas or Markdown markup."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from urllib.parse import unquote

from app.export import CSV_FIELDS, answer_csv, answer_from_json, answer_json, answer_markdown, fragment_link, render
from core.records import Answer, Citation, SearchWindow

QUOTE = "Both sides agreed to further deepen cooperation to jointly combat the increasingly rampant cyber fraud crimes."


def _answer(**kw) -> Answer:
    citations = [
        Citation(n=1, article_id="https://news.example/korea", title="Cambodia and *Korea* [agree]",
                 url="https://news.example/korea#top", source="news.example", published=date(2025, 11, 4),
                 quote=QUOTE, start=259, end=369),
        Citation(n=2, article_id="upload:abc", title="=HYPERLINK(\"http://evil\")", url="", source="",
                 published=None, quote="-2+3 people, & more", start=0, end=19),
    ]
    return Answer(question="What did Korea agree to?", text=f"{QUOTE} [1] Two more. [2]", citations=citations,
                  window=SearchWindow(since=date(2025, 11, 1), until=date(2025, 11, 20), phrase="on November 1",
                                      widened_from=date(2025, 11, 2)), **kw)


def test_a_long_quote_links_by_its_first_and_last_words() -> None:
    link = fragment_link("https://news.example/korea#top", QUOTE)
    base, directive = link.split("#:~:text=")
    assert base == "https://news.example/korea"  # the page's own fragment gives way
    start, end = directive.split(",")
    assert unquote(start) == "Both sides agreed to" and unquote(end) == "rampant cyber fraud crimes."


def test_the_directive_characters_in_a_quote_are_encoded() -> None:
    directive = fragment_link("https://x.example/a", "Kuala-Lumpur, 3 & 4").split("#:~:text=")[1]
    assert directive == "Kuala%2DLumpur%2C%203%20%26%204"  # "-", "," and "&" would end or split the directive
    assert unquote(directive) == "Kuala-Lumpur, 3 & 4"


def test_markdown_lists_each_source_with_its_quote_and_link() -> None:
    text = answer_markdown(_answer())
    assert text.startswith("**Q:** What did Korea agree to?\n\n" + QUOTE + " [1] Two more. [2]\n\n**Sources**")
    title = "[Cambodia and \\*Korea\\* \\[agree\\]](https://news.example/korea#top)"
    assert f"1. {title} (news.example, 2025-11-04)" in text
    assert f"   > {QUOTE}" in text
    assert f"({fragment_link('https://news.example/korea', QUOTE)})" in text
    assert "2. =HYPERLINK(\"http://evil\") (undated)" in text and "article upload:abc, characters 0\u201319" in text


def test_an_abstention_does_not_call_its_passages_sources() -> None:
    assert "**Closest passages** (not an answer):" in answer_markdown(_answer(abstained=True))


def test_csv_has_one_row_per_citation_and_no_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(answer_csv(_answer()))))
    assert [tuple(r) for r in rows] == [CSV_FIELDS] * 2
    assert rows[0]["quote"] == QUOTE and rows[0]["published"] == "2025-11-04" and rows[0]["start"] == "259"
    assert rows[0]["link"] == fragment_link("https://news.example/korea", QUOTE)
    assert rows[1]["title"].startswith("'=") and rows[1]["quote"] == "'-2+3 people, & more"
    assert rows[1]["link"] == "" and rows[1]["published"] == ""


def test_json_round_trips_to_the_same_answer() -> None:
    original = _answer(mode="extractive", notes=["a note"])
    data = json.loads(render(original, "json"))
    assert data == answer_json(original)
    again = answer_from_json(data)
    assert again.citations == original.citations and again.text == original.text
    assert again.window == original.window and again.notes == ["a note"]
    assert data["window"]["widened_from"] == "2025-11-02"  # the search went past the question's own window
    assert data["citations"][0]["link"] == fragment_link("https://news.example/korea", QUOTE)
