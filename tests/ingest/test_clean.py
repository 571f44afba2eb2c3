"""clean_text: Unicode and whitespace normalisation, page furniture, idempotence."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import clean_text, has_prose, is_furniture

SEED = Path(__file__).resolve().parents[2] / "data" / "articles" / "cambodia-korea-cyber-fraud-2025-11-04.txt"

BODY = (
    "Police detained 40 people at a compound on Monday.\n\n"
    "Officers said the workers had been recruited online."
)


def test_furniture_lines_are_removed_and_paragraphs_kept() -> None:
    raw = (
        "Skip to content\nFont Size:\n\n  Police detained 40 people at a compound on Monday.  \n"
        "Advertisement\n\n\n\nOfficers said the workers had been recruited online.\nShare this article\n"
        "Print\nSubscribe\nSign up for our newsletter\nClick here to read the full report\n"
        "We use cookies to improve your experience.\nCopyright © 2025 Mekong Ledger\nAll rights reserved.\n"
    )
    assert clean_text(raw) == BODY


def test_related_news_tail_with_link_list_is_cut() -> None:
    links = "Border checks tightened after raid\nFamilies seek missing relatives...\nNavigation"
    raw = BODY + "\n\nRelated News\n\n" + links
    assert clean_text(raw) == BODY


def test_marker_followed_by_real_paragraph_is_not_a_tail() -> None:
    raw = "More from our correspondent\n\nThe minister said the task force would meet monthly. It starts in May."
    assert clean_text(raw) == raw


def test_words_inside_sentences_are_kept() -> None:
    raw = (
        "The ministry published related news about the raid on its website.\n\n"
        "Readers can print the report or subscribe to alerts, she said.\n\n"
        "All rights reserved by the court were upheld on appeal."
    )
    assert clean_text(raw) == raw


def test_whitespace_controls_and_newlines() -> None:
    raw = "\ufeffFirst\u00a0line\u2003with\tgaps\x07\r\nsecond line\rthird\u2028line"
    assert clean_text(raw) == "First line with gaps\nsecond line\nthird\nline"


def test_nfc_and_asian_scripts_survive() -> None:
    korean = "한국 정부는 캄보디아와 공동 수사를 확대하기로 했다."
    khmer = "រដ្ឋាភិបាលកម្ពុជា\u200bបានយល់ព្រម។"
    chinese = "柬埔寨与韩国同意深化合作。"
    thai = "กัมพูชาและเกาหลีใต้ตกลงร่วมมือกัน"
    raw = "\n\n".join([unicodedata.normalize("NFD", korean), khmer, chinese, thai])
    assert clean_text(raw) == "\n\n".join([korean, khmer, chinese, thai])


def test_nothing_left_gives_empty_string() -> None:
    assert clean_text("  \n\nFont Size:\nNavigation...\n\u00a0\n") == ""
    assert clean_text("") == ""


def test_seed_article_loses_its_furniture() -> None:
    cleaned = clean_text(SEED.read_text(encoding="utf-8"))
    assert "Font Size" not in cleaned
    assert "Related News" not in cleaned
    assert "Navigation" not in cleaned
    assert cleaned.endswith("regional and global peace and stability.")
    assert "\n\n\n" not in cleaned
    assert clean_text(cleaned) == cleaned


def test_is_furniture_and_has_prose() -> None:
    assert is_furniture("  Related News » ")
    assert is_furniture("COPYRIGHT © 2024 Some Outlet Ltd.")
    assert not is_furniture("Related news emerged on Friday.")
    assert has_prose(BODY)
    assert not has_prose("Home\nWorld\nBusiness")


_PIECES = st.sampled_from(
    ["Related News", "Read more", "Font Size:", "Navigation...", "\n", "\n\n\n", " ", "\u00a0", "\u200b",
     "\u00ad", "e\u0301", "\r\n", "\x0b", "Police said.", "Link headline", "한국", "ក", "More from X"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=25))
def test_clean_text_is_idempotent(parts: list[str]) -> None:
    once = clean_text("".join(parts))
    assert clean_text(once) == once
    assert "\n\n\n" not in once
    assert once == once.strip()
