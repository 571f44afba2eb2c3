"""Copies of one story: the copy's version of a sentence is found through an outlet's edits, and a figure or a
name given differently is reported, while the same sentence with its words edited is not."""

from __future__ import annotations

from datetime import date

from app.export import answer_from_json, answer_json, answer_markdown
from app.stories import counterpart, describe, differ, numbers
from app.ui_render import source_card
from core.records import Answer, Citation, Copy, Disagreement, also_reported

QUOTE = ("A total of 545 Korean citizens have now been repatriated from scam compounds in Cambodia, the joint "
         "task force announced on Tuesday.")
COPY = ("Coast Wire – Officials expect the pace of returns to slow. A total of 547 Korean citizens have now been "
        "repatriated from Cambodian scam compounds, the joint task force stated on Tuesday. The figure includes "
        "60 people rescued in a raid in Bavet.")


def test_the_copys_version_of_the_sentence_is_found_through_its_edits() -> None:
    span = counterpart(QUOTE, COPY)
    assert span is not None
    assert COPY[span[0]:span[1]].startswith("A total of 547") and COPY[span[0]:span[1]].endswith("Tuesday.")
    assert counterpart(QUOTE, "The weather in Seoul was fine. Markets rose 2 percent on Monday.") is None


def test_a_different_figure_is_a_disagreement_and_edited_words_are_not() -> None:
    span = counterpart(QUOTE, COPY)
    assert span is not None
    assert differ(QUOTE, COPY[span[0]:span[1]]) == ("number", ("545", "547"))
    assert differ(QUOTE, QUOTE.replace("announced", "said")) is None
    assert differ(QUOTE, QUOTE.replace(" 545", "")) is None  # leaving a figure out is not stating another
    assert numbers("1,200 people and 3.5 percent, case 12a") == {"1200", "3.5"}
    assert differ("Minister Hun Sen met the envoy.", "Minister Hun Manet met the envoy.") == ("name", ("Sen", "Manet"))


def test_list_lines_alike_in_words_are_not_a_disagreement() -> None:
    """Price lists repeat one line shape with different figures: the copy's line with the same figure is
    the counterpart, and without one no line can be told to be it."""
    copy = "Average prices today. Regular: $4.13 in Ohio. Regular: $4.68 in Texas. Premium: $4.98 in Texas."
    span = counterpart("Regular: $4.68 in Texas.", copy)
    assert span is not None and differ("Regular: $4.68 in Texas.", copy[span[0]:span[1]]) is None
    assert counterpart("Regular: $4.50 in Utah.", "Regular: $4.13 in Utah. Regular: $4.68 in Utah.") is None


def _answer() -> Answer:
    first = Citation(n=1, article_id="a", quote=QUOTE, start=0, end=len(QUOTE), title="545 brought home",
                     source="Harbour Times", published=date(2025, 10, 14),
                     copies=(Copy("b", "River Post", date(2025, 10, 15)), Copy("c", "Coast Wire", date(2025, 10, 15))))
    second = Citation(n=2, article_id="c", quote="A total of 547 Korean citizens ...", start=5, end=40,
                      source="Coast Wire", published=date(2025, 10, 15))
    answer = Answer(question="How many?", text=f"{QUOTE} [1]", citations=[first, second],
                    disagreements=[Disagreement("number", (("545", 1), ("547", 2)))])
    answer.text += "\n\n" + describe(answer)
    return answer


def test_the_disagreement_reads_with_outlets_dates_and_markers() -> None:
    text = describe(_answer())
    assert text == ("Sources differ on this figure: 545 (Harbour Times, 14 Oct 2025 [1]); "
                    "547 (Coast Wire, 15 Oct 2025 [2]).")


def test_copies_and_disagreements_survive_json_and_show_in_every_format() -> None:
    answer = _answer()
    back = answer_from_json(answer_json(answer))
    assert back.citations[0].copies == answer.citations[0].copies
    assert back.disagreements == answer.disagreements
    assert also_reported(answer.citations[0].copies) == "also reported by River Post, Coast Wire (2 copies)"
    assert "also reported by River Post, Coast Wire (2 copies)" in answer_markdown(answer)
    card = source_card(answer.citations[0], 0, QUOTE)
    assert '<div class="nd-copies">also reported by River Post, Coast Wire (2 copies)</div>' in card
    hostile = Citation(n=1, article_id="x", quote="q", start=0, end=1, copies=(Copy("y", "<b>Evil</b>"),))
    assert "<b>Evil" not in source_card(hostile, 0, "q")


def test_the_library_lists_stories_published_by_several_outlets() -> None:
    from app.ui_render import story_groups
    from core.records import ArticleInfo
    from ingest.near_duplicates import Group, Member

    def info(i: str, title: str) -> ArticleInfo:
        return ArticleInfo(id=i, content_hash="h", chunks=1, title=title)

    articles = {"a": info("a", "545 brought home"), "b": info("b", "Task force: 545 <Koreans>"),
                "c": info("c", "547 brought home")}
    group = Group((Member("a", "Harbour Times", date(2025, 10, 14)), Member("b", "River Post", date(2025, 10, 15)),
                   Member("c", "Coast Wire", date(2025, 10, 15)), Member("gone", "Deleted Daily", None)))
    html = story_groups([group], articles)
    assert "3 copies" in html and html.count("<li><span") == 3
    assert "Harbour Times" in html and "15\u00a0October\u00a02025" in html and "&lt;Koreans&gt;" in html
    assert "No story" in story_groups([], articles)


def test_one_template_about_two_events_is_not_one_story() -> None:
    from app.stories import same_story

    def report(province: int) -> str:
        return (f"Police in province {province} froze {10 + province} crypto wallets on Monday. The case number is "
                f"{1000 + province}. Prosecutors in province {province} later confirmed a trial date.")

    assert not same_story(report(1), report(13))
    copy = COPY.replace("547", "545")
    assert same_story(QUOTE + " The figure includes 60 people rescued in a raid in Bavet.", COPY)
    assert same_story(QUOTE, copy)
