"""Names of countries and of US states: a place is recognised by its name as well as by the preposition
before it ("Sri Lanka has plunged into chaos" names a place the way "fled to Singapore" does)."""

from __future__ import annotations

import re
from functools import lru_cache

COUNTRIES = """afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan bahamas
bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil brunei bulgaria
burkina burundi cambodia cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czechia
denmark djibouti dominica ecuador egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia
germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran iraq
ireland israel italy jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait kyrgyzstan laos latvia
lebanon lesotho liberia libya liechtenstein lithuania luxembourg madagascar malawi malaysia maldives mali malta
mauritania mauritius mexico micronesia moldova monaco mongolia montenegro morocco mozambique myanmar burma namibia
nauru nepal netherlands nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay peru
philippines poland portugal qatar romania russia rwanda samoa senegal serbia seychelles singapore slovakia
slovenia somalia spain sudan suriname sweden switzerland syria taiwan tajikistan tanzania thailand togo tonga
tunisia turkey turkmenistan tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen zambia
zimbabwe scotland wales england britain""".split()

MULTIWORD = """south korea|north korea|sri lanka|saudi arabia|new zealand|south africa|south sudan|costa rica|
el salvador|united states|united kingdom|united arab emirates|czech republic|dominican republic|east timor|
timor-leste|hong kong|papua new guinea|ivory coast|sierra leone|puerto rico|vatican city|san marino|
new hampshire|new jersey|new mexico|new york|north carolina|north dakota|south carolina|south dakota|
rhode island|west virginia|district of columbia""".replace("\n", "").split("|")

US_STATES = """alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi
missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia
washington wisconsin wyoming""".split()

PLACE_NAMES = frozenset(COUNTRIES) | frozenset(US_STATES) | frozenset(MULTIWORD)


def is_place_name(phrase: str) -> bool:
    """True when `phrase` (any case, with or without a leading "the") is a country or a US state."""
    low = " ".join(phrase.lower().replace("\u2019", "'").split())
    return low in PLACE_NAMES or low.removeprefix("the ") in PLACE_NAMES


PEOPLE_WORDS = {
    "afghan": "Afghanistan", "american": "United States", "argentine": "Argentina", "argentinian": "Argentina",
    "bahamian": "Bahamas", "belgian": "Belgium", "british": "Britain", "burmese": "Myanmar", "canadian": "Canada",
    "chinese": "China", "congolese": "Congo", "cypriot": "Cyprus", "czech": "Czechia", "danish": "Denmark",
    "dutch": "Netherlands", "emirati": "United Arab Emirates", "english": "England", "filipino": "Philippines",
    "finnish": "Finland", "french": "France", "german": "Germany", "greek": "Greece", "guyanese": "Guyana",
    "haitian": "Haiti", "honduran": "Honduras", "hungarian": "Hungary", "icelandic": "Iceland", "irish": "Ireland",
    "italian": "Italy", "kazakh": "Kazakhstan", "kyrgyz": "Kyrgyzstan", "lao": "Laos", "laotian": "Laos",
    "lebanese": "Lebanon", "maldivian": "Maldives", "maltese": "Malta", "mauritian": "Mauritius",
    "mexican": "Mexico", "moroccan": "Morocco", "mozambican": "Mozambique", "norwegian": "Norway",
    "palestinian": "Palestine", "panamanian": "Panama", "peruvian": "Peru", "polish": "Poland",
    "portuguese": "Portugal", "saudi": "Saudi Arabia", "scottish": "Scotland", "slovak": "Slovakia",
    "somali": "Somalia", "spanish": "Spain", "sudanese": "Sudan", "swedish": "Sweden", "swiss": "Switzerland",
    "tajik": "Tajikistan", "thai": "Thailand", "turkish": "Turkey", "turkmen": "Turkmenistan",
    "ukrainian": "Ukraine", "uzbek": "Uzbekistan", "welsh": "Wales",
}
"""The people-words that do not hold their country's name as it is spelt ("Ukrainian", "Chinese", "Thai"); the
others ("Korean", "Japanese", "Pakistani") are read by `demonym_places`."""


def country_of(word: str) -> str | None:
    """The country a people-word names ("Ukraine" for "Ukrainian"), or None: an addition to a quote, shown as one."""
    return PEOPLE_WORDS.get(word.lower())


@lru_cache(maxsize=1)
def _people_word() -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(sorted(PEOPLE_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _demonym() -> re.Pattern[str]:
    names = sorted({*COUNTRIES, *MULTIWORD} - set(US_STATES), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
                      + r")(?=(?:n|an|ian|ese|i)\b)", re.IGNORECASE)


def demonym_places(sentence: str) -> list[tuple[int, int]]:
    """Where a country is named inside the word for its people or things: (start, end) of "South Korea" in
    "South Korean Ambassador", of "Japan" in "Japanese", of "Pakistan" in "Pakistani". The name is an exact
    span of the sentence, so a "which country" answer can quote it."""
    return [(m.start(), m.end()) for m in _demonym().finditer(sentence) if m.group(0)[:1].isupper()]


def people_words(sentence: str) -> list[tuple[int, int]]:
    """Where a people-word that does not spell its country stands ("Ukrainian" in "Ukrainian first lady"):
    quoted as it is, with the country (`country_of`) added beside it."""
    low = sentence.lower()
    return [(m.start(), m.end()) for m in _people_word().finditer(sentence) if m.group(0)[:1].isupper()
            and not any(low.startswith(name, m.start()) for name in MULTIWORD)  # "Saudi Arabia" is a country
            and not re.search(r"(?<!\w)(?!(?:The|A|An)\s)[A-Z][\w-]*\s+$", sentence[:m.start()])]
    # "Latin American" is no American; "The Thai envoy" is Thai.
