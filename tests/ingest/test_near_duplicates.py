"""Syndicated copies grouped at ingest: a wire story and its outlets' copies, distinct stories on the same
topic kept apart, the groups kept true through deletes, updates and a lost or corrupt index file.

The corpus is written for these tests (no benchmark text)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import ROOT

WIRE = [
    "Cambodian police raid scam compound in Sihanoukville, free 412 workers",
    "Cambodian police raided a fortified scam compound on the outskirts of Sihanoukville before dawn on "
    "Tuesday and freed 412 workers from nine countries, the National Police said in a statement.",
    "Officers from the anti-human-trafficking department surrounded the five buildings at about four in the "
    "morning after a worker smuggled a message to her family in Bangkok describing beatings and debts.",
    "Police spokesman Chhay Kim Khoeun said the workers had been forced to run romance and investment scams "
    "aimed at victims in South Korea, China and the United States for up to sixteen hours a day.",
    "Investigators seized more than two thousand mobile phones, stacks of scripts written in four languages "
    "and ledgers that recorded the takings of each team against a monthly target.",
    "Twenty-three suspected managers, most of them foreign nationals, were detained and will be questioned "
    "by the provincial court, which is expected to decide on charges by the end of the week.",
    "The freed workers were taken to a temporary shelter at a sports hall, where embassy staff from Thailand, "
    "Indonesia and Kenya began checking their identities and arranging their journeys home.",
    "Rights groups welcomed the raid but warned that many compounds simply move to another province or across "
    "the border when the police arrive, leaving the people who run them free to start again.",
    "The government has said it will inspect every casino and hotel complex in the coastal province before "
    "the end of the year and close those that cannot show a lawful business.",
]


def _text(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def _copy_with_prefix() -> list[str]:
    """An outlet's dateline before the first paragraph and its own headline."""
    return ["Police free hundreds in Sihanoukville scam raid",
            "Mekong Daily Wire – " + WIRE[1], *WIRE[2:]]


def _copy_with_edits() -> list[str]:
    """A sentence dropped, one added, a word or two changed."""
    body = [p.replace("said in a statement", "announced in a statement") for p in WIRE]
    del body[4]
    body.insert(6, "Neighbours said they had long suspected that the guarded compound was not the hotel it "
                   "claimed to be.")
    return body


def _copy_with_new_lede() -> list[str]:
    """The first paragraph rewritten by the outlet's desk."""
    return [WIRE[0], "More than four hundred people held in a guarded scam compound near Sihanoukville were freed "
            "on Tuesday when Cambodian police stormed the site before sunrise, officials said.", *WIRE[2:]]


DISTINCT = {
    "trial": ["Sihanoukville court opens trial of alleged scam bosses",
              "A provincial court in Sihanoukville on Monday opened the trial of six men accused of running online "
              "fraud operations, with prosecutors reading out the testimony of former workers.",
              "Police spokesman Chhay Kim Khoeun told the court that the defendants kept passports in a safe and "
              "charged workers for food, electricity and the beds they slept in.",
              "Defence lawyers argued that their clients were only landlords who rented floors to companies whose "
              "business they never saw, and asked for the charges to be dropped.",
              "The judges adjourned the hearing until next month to hear from an accountant who handled the "
              "rental payments and from two workers who have since returned to Indonesia.",
              "Observers from a regional rights group said the case would test whether owners of the buildings "
              "can be held responsible for what happens inside them."],
    "agreement": ["Cambodia and Thailand agree joint patrols against fraud gangs",
                  "Cambodia and Thailand signed an agreement in Bangkok on Friday to run joint border patrols and to "
                  "share intelligence on the gangs that recruit workers for fraud centres.",
                  "The deal sets up a hotline between the two national police forces and a working group that will "
                  "meet every quarter, alternating between Bangkok and Phnom Penh.",
                  "Thai officials said recruiters often lure young people with advertisements for well-paid "
                  "customer service jobs and then drive them across the border at night.",
                  "Police spokesman Chhay Kim Khoeun said Cambodia would also post liaison officers at the main "
                  "crossings so that people who escape can be handed over quickly.",
                  "Both governments said they would report on the first results of the patrols at a regional "
                  "meeting on transnational crime early next year."],
    "victims": ["South Korean victims describe losses to Cambodian investment scam",
                "Families in Seoul who lost their savings to a fake cryptocurrency platform traced to a compound "
                "in Sihanoukville met the foreign ministry on Wednesday to ask for help.",
                "One retired teacher said she transferred the equivalent of eighty thousand dollars over three "
                "months to a man she met in an online language-exchange group.",
                "The ministry said it was working with the Cambodian National Police and had asked for the bank "
                "records of accounts that received the money.",
                "Consumer groups urged banks to delay large first-time transfers to overseas exchanges and to call "
                "customers before releasing the funds.",
                "Officials said the number of complaints about such schemes had doubled since the start of the "
                "year, with most of the money moved within hours."],
}

OUTLETS = {"wire": "Regional Wire Service", "prefix": "Mekong Daily Wire", "edits": "Gulf Coast Times",
           "lede": "Phnom Penh Observer"}


def _line(key: str, paragraphs: list[str], source: str, published: str) -> dict[str, str]:
    return {"id": f"https://news.example/{key}", "url": f"https://news.example/{key}", "title": paragraphs[0],
            "text": _text(paragraphs[1:]), "published": published, "source": source}


def _corpus() -> list[dict[str, str]]:
    lines = [
        _line("wire", WIRE, OUTLETS["wire"], "2025-11-04"),
        _line("prefix", _copy_with_prefix(), OUTLETS["prefix"], "2025-11-05"),
        _line("edits", _copy_with_edits(), OUTLETS["edits"], "2025-11-05"),
        _line("lede", _copy_with_new_lede(), OUTLETS["lede"], "2025-11-06"),
    ]
    for i, (key, paragraphs) in enumerate(DISTINCT.items()):
        lines.append(_line(key, paragraphs, OUTLETS["wire"], f"2025-11-{10 + i:02d}"))
    return lines


def _ingest(ingestor, settings, path: Path, lines: list[dict[str, str]]):
    from ingest.loaders import load_sources

    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    report = ingestor.run(load_sources([], settings, jsonl=[str(path)]))
    assert report.failed == 0, report.errors
    return report


def _id(key: str) -> str:
    return f"https://news.example/{key}"


def _groups(settings, store) -> list[set[str]]:
    from ingest.near_duplicates import NearDuplicates

    return [{m.article_id for m in g.members} for g in NearDuplicates.for_store(settings, store).groups()]


COPIES = {_id(k) for k in ("wire", "prefix", "edits", "lede")}


@pytest.mark.slow
def test_copies_are_one_story_and_distinct_stories_on_the_topic_are_not(ingestor, settings, tmp_path):
    from ingest.near_duplicates import NearDuplicates, index_path

    _ingest(ingestor, settings, tmp_path / "news.jsonl", _corpus())
    index = NearDuplicates.open(index_path(settings))  # what the ingest saved, read as a reader would
    [group] = index.groups()
    assert {m.article_id for m in group.members} == COPIES
    assert group.id == _id("wire")  # the earliest published
    assert group.outlets == [OUTLETS[k] for k in ("wire", "edits", "prefix", "lede")]  # by date, then id
    for key in DISTINCT:
        assert len(index.group_of(_id(key))) == 1
    assert index.synced == ingestor.store.generation()


@pytest.mark.slow
def test_a_deleted_copy_leaves_its_group_and_an_update_that_is_another_story_too(ingestor, settings, tmp_path):
    from ingest.pipeline import delete_articles

    lines = _corpus()
    _ingest(ingestor, settings, tmp_path / "news.jsonl", lines)
    assert delete_articles(ingestor.store, [_id("prefix"), _id("nowhere")]) == [_id("nowhere")]
    assert _groups(settings, ingestor.store) == [COPIES - {_id("prefix")}]

    changed = [dict(x, text=_text(DISTINCT["trial"][1:]).replace("six men", "four women")
                    .replace("Monday", "Thursday")) if x["id"] == _id("edits") else x
               for x in lines if x["id"] != _id("prefix")]
    report = _ingest(ingestor, settings, tmp_path / "news.jsonl", changed)
    assert report.updated == 1
    # The changed article now copies the trial story: it joins that group, and leaves the wire's.
    assert {frozenset(g) for g in _groups(settings, ingestor.store)} == {
        frozenset({_id("edits"), _id("trial")}), frozenset({_id("wire"), _id("lede")})}


@pytest.mark.slow
def test_a_lost_corrupt_or_torn_index_file_is_rebuilt_from_the_store(ingestor, settings, tmp_path):
    from ingest.near_duplicates import NearDuplicates, index_path

    _ingest(ingestor, settings, tmp_path / "news.jsonl", _corpus())
    path = index_path(settings)
    path.unlink()
    assert _groups(settings, ingestor.store) == [COPIES]
    assert path.is_file()

    path.write_text("not an index\n", encoding="utf-8")
    assert _groups(settings, ingestor.store) == [COPIES]

    with path.open("ab") as handle:  # an append cut short by a crash
        handle.write(b'{"op":"remove","id":"https://news.ex')
    assert _groups(settings, ingestor.store) == [COPIES]
    assert NearDuplicates.open(path).synced == ingestor.store.generation()  # rewritten whole: readable again

    # Other parameters (a new normalisation, another threshold) make it rebuild too.
    from ingest.near_duplicates import Params

    strict = NearDuplicates.for_store(settings, ingestor.store, params=Params(threshold=0.99))
    assert {m.article_id for g in strict.groups() for m in g.members} <= COPIES
    assert _groups(settings, ingestor.store) == [COPIES]


@pytest.mark.slow
def test_the_store_changed_without_the_index_is_brought_level(ingestor, settings, tmp_path):
    """A delete through another door (the store itself, as the Library page does) or a crash between the
    article's write and the index's: the next write sees the store's change token moved, and catches up."""
    _ingest(ingestor, settings, tmp_path / "news.jsonl", _corpus())
    ingestor.store.delete_article(_id("lede"))
    assert _groups(settings, ingestor.store) == [COPIES - {_id("lede")}]


@pytest.mark.slow
def test_a_broken_index_never_costs_an_article(ingestor, settings, tmp_path, caplog):
    from ingest.near_duplicates import index_path

    folder = index_path(settings).parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the index folder should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ingest.near_duplicates"):
        report = _ingest(ingestor, settings, tmp_path / "news.jsonl", _corpus())
    assert report.added == 7
    assert len(ingestor.store.list_articles()) == 7
    assert "near-duplicate index" in caplog.text
    folder.unlink()
    assert ingestor.copies.index() is not None
    assert _groups(settings, ingestor.store) == [COPIES]


@pytest.mark.slow
def test_prune_takes_a_removed_file_out_of_its_group(ingestor, settings, tmp_path):
    from ingest.loaders import load_sources

    folder = tmp_path / "articles"
    folder.mkdir()
    for key, paragraphs in (("wire", WIRE), ("prefix", _copy_with_prefix()), ("lede", _copy_with_new_lede())):
        (folder / f"{key}.txt").write_text(_text(paragraphs) + "\n", encoding="utf-8")
    assert ingestor.run(load_sources([str(folder)], settings)).added == 3
    [group] = _groups(settings, ingestor.store)
    assert len(group) == 3
    (folder / "prefix.txt").unlink()
    report = ingestor.run(load_sources([str(folder)], settings), prune_roots=[folder])
    assert report.pruned == 1
    [group] = _groups(settings, ingestor.store)
    assert len(group) == 2 and not any(i.endswith("prefix.txt") for i in group)


@pytest.mark.slow
def test_python_m_ingest_copies_lists_each_story_with_its_outlets(ingestor, settings, tmp_path):
    _ingest(ingestor, settings, tmp_path / "news.jsonl", _corpus())
    env = dict(os.environ, NEWSDESK_STORE_DIR=str(settings.store_dir), NEWSDESK_COLLECTION=settings.collection)
    out = subprocess.run([sys.executable, "-m", "ingest", "copies"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "(4 articles: Regional Wire Service, Gulf Coast Times, Mekong Daily Wire, Phnom Penh Observer)" \
        in out.stdout
    assert "1 story told by more than one article" in out.stdout
    as_json = subprocess.run([sys.executable, "-m", "ingest", "copies", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    [group] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert group["id"] == _id("wire") and len(group["members"]) == 4


# -- without the model: the index itself ----------------------------------------------------------


def _index(path: Path | None = None):
    from ingest.near_duplicates import NearDuplicates

    index = NearDuplicates(path)
    corpus = _corpus()
    for x in corpus:
        index.add(x["id"], x["title"] + "\n\n" + x["text"], source=x["source"],
                  published=date.fromisoformat(x["published"]))
    return index


def test_outlet_prefix_case_and_punctuation_do_not_change_the_shingles():
    from ingest.near_duplicates import shingles

    plain = "Police freed 412 workers on Tuesday, the spokesman said. The raid began at dawn."
    assert shingles("Mekong Daily Wire – " + plain.upper().replace(",", ""), 3) == shingles(plain, 3)
    assert shingles("Southeast Asia Information Port News (www.dnyxxg.com) – " + plain, 3) == shingles(plain, 3)


def test_groups_survive_a_save_and_a_reopen_and_another_writer_is_seen(tmp_path):
    from ingest.near_duplicates import NearDuplicates

    path = tmp_path / "nd.jsonl"
    first = _index(path)
    first.save("token-1")
    second = NearDuplicates.open(path)
    assert [g.members for g in second.groups()] == [g.members for g in first.groups()]
    assert second.synced == "token-1"

    second.remove(_id("wire"))  # the group is named by its earliest remaining member now
    second.save("token-2")
    first.refresh()
    [group] = first.groups()
    assert group.id == _id("edits") and len(group) == 3  # the earliest left (same day as "prefix": by id)
    assert first.synced == "token-2"


def test_the_log_is_rewritten_once_it_has_doubled(tmp_path):
    path = tmp_path / "nd.jsonl"
    index = _index(path)
    index.save("t")
    for _ in range(40):
        index.remove(_id("trial"))
        index.add(_id("trial"), _text(DISTINCT["trial"]), source="x")
        index.save("t")
    lines = path.read_bytes().count(b"\n")
    assert lines <= 2 * len(index) + 64 + 1
    from ingest.near_duplicates import NearDuplicates

    assert len(NearDuplicates.open(path)) == 7


def test_collapse_keeps_the_best_hit_of_each_story_and_names_the_other_outlets():
    from core.records import Hit, StoredChunk
    from ingest.near_duplicates import collapse

    index = _index()

    def hit(key: str, ordinal: int = 0) -> Hit:
        chunk = StoredChunk(id=f"{key}-{ordinal}", article_id=_id(key), ordinal=ordinal, text="...", start=0, end=3)
        return Hit(chunk=chunk, score=1.0)

    hits = [hit("prefix"), hit("wire"), hit("trial"), hit("prefix", 1), hit("lede"), hit("victims"), hit("elsewhere")]
    kept = collapse(hits, index.group_of)
    assert [k.hit.chunk.id for k in kept] == ["prefix-0", "trial-0", "prefix-1", "victims-0", "elsewhere-0"]
    assert {m.article_id for m in kept[0].copies} == COPIES - {_id("prefix")}
    assert kept[0].note() == ("also reported by Regional Wire Service, Gulf Coast Times, Phnom Penh Observer "
                              "(3 copies)")
    assert kept[1].copies == () and kept[1].note() == ""
    assert collapse([], index.group_of) == []
