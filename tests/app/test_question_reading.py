"""Reading questions and sentences by rule: answer types, short-answer phrases, referents of quoted pronouns.

The sentences are written for these tests (in the style of the sample corpus), not taken from a benchmark.
"""

from __future__ import annotations

import pytest

from app.question import frame
from app.referents import referent
from app.short_answer import short_answer


@pytest.mark.parametrize("question, kind", [
    ("Who did the minister meet?", "person"),
    ("Who is Chhay Sinharith?", "role"),
    ("When did the two sides meet?", "date"),
    ("How long do foreign workers have to leave?", "duration"),
    ("How many towns lost power?", "number"),
    ("How much money did victims lose?", "money"),
    ("What percentage of adults disapprove?", "percent"),
    ("Where did the leaders meet?", "place"),
    ("Which country cut power to the border towns?", "place"),
    ("Which company recalled its vehicles?", "organisation"),
    ("Which age group can get the booster first?", "age"),
    ("Why did Thailand cut the power?", "reason"),
    ("What did Korea agree to with Cambodia?", "action"),
    ("Can fraud be eradicated in the short term?", None),
    # The kind is read off the question, not off a "who" of the sentence that sets it up.
    ("Police detained 40 men who allegedly ran a call centre for a fraud ring. Where was the centre?", "place"),
    # ... and the setup ends at a sentence's end, not at an initial ("Roe v. Wade", "Mr. Park").
    ("What percentage of voters backed the ruling in Smith v. Jones?", "percent"),
])
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert frame(question).kind == kind


def test_a_question_names_its_verb_particle_and_tense():
    f = frame("What did Korea agree to with Cambodia?")
    assert (f.verb, f.particle, f.future) == ("agree", "to", False)
    assert frame("Which measure did lawmakers leave out?").particle == "out"
    assert set(f.names) == {"korea", "cambodia"}
    assert frame("What will South Korea do with the citizens Cambodia repatriated?").future
    assert frame("What will South Korea do with the citizens?").verb == ""  # "do" matches any sentence
    assert frame("What will South Korea do with the citizens?").subject == ("south", "korea")
    # A future only reported is no question about the future: it asks who announced.
    assert not frame("Which university announced it will drop student loans?").future
    assert frame("A new ferry line opened. When will it reach the islands?").future
    # ... unless what will happen is what it asks.
    assert frame("The ministry announced it will do what?").future
    # "take place" says only that something happened: the meeting is what a sentence has to match.
    assert frame("When did the meeting take place?").focus == ("meeting",)


@pytest.mark.parametrize("question, verb, subject", [
    # A word after a determiner, a possessive or a preposition belongs to the subject, not the verb.
    ("Why did some villages along the river cancel their harvest festival?", "cancel", ()),
    ("What did the two countries' leaders agree in principle to establish?", "agree", ()),
    # After "has" and its subject, the verb is the participle; with no subject between, what is said of it.
    ("How much has the Mekong council approved in aid for farmers?", "approved", ("mekong",)),
    ("Which country is now bankrupt, according to its minister?", "bankrupt", ()),
    ("Which state has the highest fuel price?", "", ()),
    # After "did" or "will", the verb ends the run of words its subject opens; an adverb after it is no verb.
    ("Which measure did lawmakers leave out?", "leave", ()),
    ("Why did rice prices rise sharply?", "rise", ()),
    ("Why did the provincial governor cancel the visit?", "cancel", ()),
    # An adverb before the verb is no verb; an -ly verb is one.
    ("Which wildly popular show was recently renewed for a new season?", "renewed", ()),
    ("Which firms did the regulators finally fine?", "fine", ()),
    ("Which banks did the rules apply to?", "apply", ()),
    # A title with its time prefix is part of the name it opens.
    ("What did then-Minister Chhay Sinharith recall about the talks?", "recall", ("then-minister", "chhay",
                                                                                "sinharith")),
    # The question's own verb, not the verb of the sentence that sets it up.
    ("Several reforms were not included in the deal. Which measure did lawmakers leave out?", "leave", ()),
])
def test_the_verb_of_a_question_is_not_a_word_of_its_subject(question, verb, subject):
    f = frame(question)
    assert (f.verb, f.subject) == (verb, subject)


def test_a_capital_that_opens_a_sentence_of_the_question_is_no_name():
    f = frame("Two years after the floods began, a new outbreak has arrived. What is it called?")
    assert f.names == () and f.kind == "title"


def test_irregular_past_forms_match_their_verb():
    from vectorstore.lexical import lexical_tokens, sentence_tokens

    assert sentence_tokens("They met and took office") == sentence_tokens("the meeting to take office")
    assert sentence_tokens("He left; she won") == sentence_tokens("leaving wins")
    assert lexical_tokens("They met") == ["met"]  # the index's vocabulary, whose recall was measured, is kept


def _short(question: str, sentence: str) -> str | None:
    span = short_answer(frame(question), sentence)
    return sentence[span[0]:span[1]] if span else None


DATELINE = ("Southeast Asia Information Port News (www.example.com) \u2013 On November 3, 2025, the Minister of "
            "the Interior, Sok Dara, met the visiting Japanese delegation in Phnom Penh.")


@pytest.mark.parametrize("question, sentence, phrase", [
    ("When did the minister meet the delegation?", DATELINE, "November 3, 2025"),
    ("Who did the delegation meet?", DATELINE, "Sok Dara"),
    ("Who is Sok Dara?", DATELINE, "Minister of the Interior"),
    ("How many towns lost power?", "The utility cut power to five towns across the border on Monday.", "five towns"),
    ("How long do workers have to leave?", "Workers will be given sixty days to leave the country.", "sixty days"),
    ("By when must the operators shut down?", "All operators must shut down by the end of the year, officials said.",
     "by the end of the year"),
    ("Under whose leadership is the government acting?",
     "Under Prime Minister Hun Manet's leadership, the government acted.", "Hun Manet"),
    ("Why did the ambassador thank Cambodia?",
     "The ambassador thanked Cambodia for returning citizens involved in fraud.",
     "for returning citizens involved in fraud"),
])
def test_the_short_answer_is_the_phrase_asked_for(question, sentence, phrase):
    assert _short(question, sentence) == phrase


def test_a_count_is_no_answer_when_the_words_it_counts_go_on_past_it():
    from app.short_answer import phrases

    f = frame("Which measure did lawmakers leave out?")

    def said(sentence: str) -> list[str]:
        return [sentence[p.start:p.end] for p in phrases(f, sentence)]

    assert "several deadly mass" not in said("Senators met in the wake of several deadly mass shootings this year.")
    assert "two new programs" in said("The deal includes two new programs for schools.")


def test_a_place_is_no_answer_to_which_show():
    question = "Which prestigious awards show honoured the stage actors?"
    assert _short(question, "The stage actors were honoured on Sunday at Phnom Penh's Chaktomuk Hall.") is None
    assert _short(question, "The stage actors were honoured at the Golden Reel Awards on Sunday.") \
        == "Golden Reel Awards"


def test_a_percentage_question_is_answered_by_a_share_only():
    question = "What percentage of adults disapprove of the ruling?"
    assert _short(question, "It will be remembered as one of the most far-reaching rulings of the court.") is None
    assert _short(question, "Two polls asked adults about the ruling.") is None
    assert _short(question, "In the survey, 60% of adults disapprove of the ruling.") == "60%"


def test_a_number_that_is_part_of_a_date_is_no_count_or_share():
    assert _short("What percentage of the workers were foreign?", "The centre was raided on Friday, June 24.") is None
    assert _short("How many workers were freed?", "The workers were freed in 2025.") is None
    assert _short("How many minutes did the raid last?", "The raid began on January 6, 2021, at dawn.") is None
    assert _short("How many minutes did the raid last?", "On 6 January 2021 the raid lasted 40 minutes.") \
        == "40 minutes"


def test_a_which_official_question_is_answered_by_a_person_not_a_body():
    sentence = "Sok Dara said the Ministry of Health and Welfare Administration cleared the drug for adults."
    assert _short("Which senior official tested positive?", sentence) == "Sok Dara"
    assert _short("Which senior official tested positive?",
                  "The drug was cleared by the Cambodian Food and Drug Administration for adults.") is None


def test_no_short_answer_that_is_not_of_the_kind_asked_for():
    # A place is no answer to "who", the dateline's outlet is no answer to anything, the question's own words neither.
    assert _short("Who commands the task force?", "The leaders met in Kuala Lumpur, Malaysia, to set it up.") is None
    assert _short("Which outlet reported the meeting?", "Paris (Example News) \u2013 The meeting ended early.") is None
    assert _short("Who did Sok Dara meet?", "Sok Dara spoke at length.") is None


def test_a_quoted_pronoun_gets_the_person_the_article_names_before_it():
    before = ["Minister Sok Dara first thanked the delegation for its help.", "He said the talks went well."]
    assert referent("He recalled that the leaders had met in May.", before) == (2, "Minister Sok Dara")


def test_both_sides_are_the_two_parties_of_the_headline():
    before = ["The Minister of State and Secretary-General, Sok Dara, met the ambassador."]
    found = referent("Both sides agreed to deepen cooperation.", before, "Japan and Cambodia agree to set up a hotline")
    assert found == (len("Both sides"), "Japan and Cambodia")


def test_no_referent_when_the_sentence_before_is_about_something_else():
    # The nearest sentence does not open with a person: "he" is left alone rather than guessed.
    assert referent("He said more would follow.", ["The talks lasted two hours.", "Sok Dara spoke."][:1]) is None
    assert referent("Both sides agreed.", [], "Talks on fraud end") is None


def test_a_body_answers_who():
    # "Who raided ...?" is answered by the police as much as by a named officer.
    assert _short("Who raided a scam compound?", "Police in province 3 raided a scam compound on Monday.") == "Police"


def test_a_place_and_a_company_are_found_for_where_and_which_company():
    assert _short("Where did the leaders meet?", "The leaders met during the summit in Kuala Lumpur last month.") \
        == "Kuala Lumpur"
    assert _short("Which company recalled the phones?", "Officials said Mekong Telecom Group recalled them.") \
        == "Mekong Telecom Group"


@pytest.mark.parametrize("question, kind, head", [
    ("Which wildly popular show was renewed for a second season?", "title", "show"),
    ("Critics praised which prestigious awards show?", "title", "show"),
    ("What NFL star announced his retirement?", "person", "star"),
    ("Which company's shares fell after the report?", "organisation", "company"),
    ("What was the magnitude of the earthquake?", "number", "magnitude"),
    ("What is the biggest threat to the region, according to the minister?", "thing", "threat"),
    ("How many hot dogs did the champion eat?", "number", "dogs"),
    ("How many people were arrested?", "number", "people"),
    # The noun ends its phrase: the words before it only qualify it.
    ("Which type of extreme weather swept through the region?", "thing", "weather"),
    ("Which menu item did the chain roll out?", "thing", "item"),
    ("Which famous landmark in Phnom Penh was closed?", "thing", "landmark"),
    ("Which product remains difficult to find?", "thing", "product"),
])
def test_the_noun_a_which_or_what_question_names(question, kind, head):
    f = frame(question)
    assert (f.kind, f.head) == (kind, head)


@pytest.mark.parametrize("question, sentence, phrase", [
    # What is counted, not any number: "10 minutes" is no answer to "how many hot dogs".
    ("How many hot dogs did the champion eat?", "The champion ate 63 hot dogs in 10 minutes on Monday.",
     "63 hot dogs"),
    # A country is a place by its name, where no preposition says so.
    ("Which island nation plunged into chaos?", "Sri Lanka plunged into chaos as its president fled to Singapore.",
     "Sri Lanka"),
    # A weekday is when, not which: the show is the answer.
    ("Which awards show honoured the cast?", "The cast was honoured Sunday at the Golden Reel Awards.",
     "Golden Reel Awards"),
    # A country's possessive after a name is not part of the name.
    ("Who did the minister meet?", "The minister told Ambassador Lee Min-ho Cambodia's position on the raids.",
     "Lee Min-ho"),
    # "&" and a ticker make a company of a name with no company word; "Beyond" is the name's last word.
    ("Which company cut the air conditioning in its stores?",
     "A report from Harbor Bank says Pots & Beyond (PTSB) cut the air conditioning in its stores.", "Pots & Beyond"),
    # An age group is an age, said with its people and its bounds; a bare year is none.
    ("Which age group can get the booster first?", "From Monday the booster is open to adults aged 50 and older.",
     "adults aged 50 and older"),
    ("For which age group was the vaccine cleared?", "In 2022 regulators cleared it for babies from 6 months to 4 "
     "years.", "babies from 6 months to 4 years"),
    # What the sentence says is the thing asked for, in lower case: before "posed the ... threat", after "is".
    ("What is the biggest threat to the islands, according to the minister?",
     "The minister said that rising seas posed the biggest threat to the islands.", "rising seas"),
    ("What is the biggest threat to the islands?", "The biggest threat is coral bleaching, the minister said.",
     "coral bleaching"),
    # A name that says its own kind is of that kind, where its shape says "place" ("at ... Music Hall").
    ("At which awards show were the actors recognized?",
     "The actors were recognized at Harbor City Music Hall during the Golden Reel Awards.", "Golden Reel Awards"),
    # A weekday after a name says when; it is no part of the name.
    ("Which country hosted the talks?", "The talks were held in the capital of Laos on Monday.", "Laos"),
    ("Who chaired the talks?", "The talks were chaired by Ambassador Lee Min-ho Thursday.", "Lee Min-ho"),
    # The question says "European": "Europe" is what it already knows; a country that ends the sentence is one.
    ("Which country did the storm hit hardest as it swept through European capitals?",
     "The storm hit hardest in Europe's west, flooding Portugal.", "Portugal"),
    # Who says it is no place: "according to PRICEWATCH".
    ("Which state has the highest fuel price?",
     "The highest price is charged in Nevada, according to PRICEWATCH, which surveys stations.", "Nevada"),
    # The question says "US": "United States" is what it already knows.
    ("Where did the first launch outside the US take place?",
     "The agency launched a rocket from Kenya's coast, its first launch outside the United States.", "Kenya"),
    # A town with its state or country, as reports name it; a French particle is part of the name.
    ("Where was the call centre?", "Police in Pont d'Avril, Cambodia, raided the call centre on Monday.",
     "Pont d'Avril, Cambodia"),
    # The count and what it counts, not the word after them.
    ("How many months was the suspect's detention extended?",
     "The court extended the suspect's detention by six months pending trial.", "six months"),
    # A day of the month is when, not how many.
    ("What percentage of the workers were foreign?",
     "The centre was raided on Friday, June 24, and 80% of the workers there were foreign.", "80%"),
])
def test_the_short_answer_reads_what_the_question_names(question, sentence, phrase):
    assert _short(question, sentence) == phrase


def test_a_dateline_without_a_place_is_no_answer():
    assert _short("Which network reported the leak?", "(Example News) The leak was reported by Harbor Radio.") \
        == "Harbor Radio"


def _hit(article_id: str, title: str, text: str, rank: int):
    from core.records import Hit, StoredChunk

    return Hit(StoredChunk(id=f"{article_id}-0", article_id=article_id, ordinal=0, text=text, start=0, end=len(text),
                           title=title), 1.0 / rank, dense_rank=rank, lexical_rank=rank)


def test_the_short_answer_is_the_name_the_articles_agree_on(embedder):
    # The best sentence says "The drama ... received the most nominations" without naming the show; the other
    # sentences and the headlines name it, so the answer leads with the name, quoted from a sentence that says it.
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Golden Reel nominations: \u201cHarbor Lights\u201d leads",
             "The drama, which follows a feuding shipping family, received the most nominations for the Golden Reel "
             "awards, 25 in all. \u201cHarbor Lights\u201d also leads the nominations for best drama.", 1),
        _hit("b", "\u201cHarbor Lights\u201d tops the Golden Reel nominations",
             "Voters again favoured \u201cHarbor Lights,\u201d which received nominations in every major category.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("Which show received the most nominations for the Golden Reel awards?",
                                                 hits)
    assert not answer.abstained
    short = answer.short_answer
    assert short is not None and "Harbor Lights" in short.text
    cited = next(c for c in answer.citations if c.n == short.n)
    text = next(h.chunk.text for h in hits if h.chunk.article_id == short.article_id)
    assert text[short.start:short.end] == short.text and short.text in cited.quote
    assert answer.text.startswith(f"**{short.text}** [{short.n}]")


def test_a_which_thing_question_is_answered_by_the_noun_the_articles_repeat(embedder):
    # "Which drug ...": no name answers it; the lower-case noun the best sentences and the headlines repeat does,
    # not the one name among them ("Phnom Penh", a place, was the answer before).
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Pharmacies in the capital run out of insulin",
             "Pharmacists said insulin remains hard to find in Phnom Penh because of a nationwide shortage.", 1),
        _hit("b", "Nationwide insulin shortage",
             "Rural pharmacies reported that insulin remains hard to find because of the nationwide shortage.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("Which drug remains hard to find because of a nationwide shortage?",
                                                 hits)
    assert not answer.abstained
    assert answer.short_answer is not None and answer.short_answer.text == "insulin"
    assert answer.text.startswith("**insulin**")


def test_a_which_country_question_gets_only_a_place():
    assert _short("Which country did the ambassador represent?",
                  "Ambassador Park praised the working group, the minister said.") is None
    assert _short("Which country did the ambassador represent?",
                  "Ambassador Park, who represents South Korea, praised the working group.") == "South Korea"


def test_a_country_is_read_inside_the_word_for_its_people():
    sentence = "The minister met the Japanese Ambassador to Laos, Sato Ken, on Friday."
    # Whose ambassador: the country inside "Japanese", quoted as the exact span "Japan".
    assert _short("Which country did the ambassador represent?", sentence) == "Japan"
    assert _short("Which country is Sato Ken from?", sentence) == "Japan"
    # Where he serves: what follows the question's own last word ("to").
    assert _short("Where is Sato Ken ambassador to?", sentence) == "Laos"
    assert _short("Which country sent troops to the border?", "Police said South Korean troops reached the border "
                  "on Monday.") == "South Korea"
    # "Indiana" holds "India" but is no people-word of it; "South Korean" is South Korea's, not Korea's.
    from app.places import demonym_places

    text = "Officials from Indiana, South Korean police and Pakistani diplomats met."
    assert [text[a:b] for a, b in demonym_places(text)] == ["South Korea", "Pakistan"]



def test_the_noun_a_which_question_names_is_no_word_the_answer_lacks(embedder):
    # "Which country ...": the answer is a country. A second sentence that only adds the word "countries" is
    # padding, not an answer element.
    from app.answering import ExtractiveAnswerer

    hits = [_hit("a", "Talks on the border", "A delegation from Laos signed the border treaty on Monday. Officials "
                 "from several countries watched the delegation sign the border treaty.", 1)]
    answer = ExtractiveAnswerer(embedder).answer("Which country signed the border treaty?", hits)
    assert answer.short_answer is not None and answer.short_answer.text == "Laos", answer.text
    assert len(answer.citations) == 1, answer.text


@pytest.mark.slow
def test_a_sentence_that_restates_the_question_is_not_its_answer(tmp_path_factory, embedder):
    # The question quotes the article's first sentence and asks for the name it leaves out. That sentence matches
    # the question best and names nothing: the answer is the sentence that gives the name, and the premise is
    # not quoted beside it (it adds nothing the question does not say). Ingested and asked as `python -m app
    # ask` does.
    from tests.conftest import assistant_over

    folder = tmp_path_factory.mktemp("outbreak-source")
    (folder / "outbreak.txt").write_text(
        "Flood season brings a new outbreak\n2025-11-20\n\nTwo years after the floods began, the most contagious "
        "outbreak yet has arrived in the delta. The Delta-7 strain, an offshoot of an older one, is now behind most "
        "new cases there, doctors say. Clinics in three provinces reported queues on Monday.\n", encoding="utf-8")
    assistant = assistant_over(tmp_path_factory, embedder, "outbreak", [folder / "outbreak.txt"], added=1)
    answer = assistant.ask("Two years after the floods began, the most contagious outbreak yet has arrived. What "
                           "is it called?")
    assert not answer.abstained, answer.text
    assert answer.short_answer is not None and answer.short_answer.text == "Delta-7", answer.text
    assert [c.quote for c in answer.citations] == ["The Delta-7 strain, an offshoot of an older one, is now behind "
                                                   "most new cases there, doctors say."], answer.text


def test_initials_in_a_question_find_the_sentence_that_spells_the_name_out(embedder):
    # "NCCF" is said by "the National Committee for Combating Fraud": that sentence answers, not the one that
    # shares only the question's other words.
    from app.answering import ExtractiveAnswerer
    from core.text import initialisms

    assert "NCCF" in initialisms("Officials of the National Committee for Combating Fraud met on Monday.")
    assert "TNC" not in initialisms("The National Committee met.")  # an opening "The" is no part of the name
    hits = [
        _hit("a", "Police to share findings",
             "The police will share their findings with the ministry next week, officials said.", 1),
        _hit("b", "Fraud committee to hand over bank records",
             "The National Committee for Combating Fraud will hand the suspects' bank records to the police.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("What will the NCCF share with the police?", hits)
    assert not answer.abstained
    assert answer.citations[0].article_id == "b"


def test_a_number_shaped_like_a_year_is_a_count_when_no_date_is_said():
    assert _short("What is the number of the hotline Laos opened?", "The hotline number is 1919, officials said.") \
        == "1919"


def test_the_short_answer_is_the_full_name_a_shortened_mention_stands_for(embedder):
    # Most sentences say "the Mariners"; one says "Kampot Mariners". The answer names the team in full, as an
    # editor would at first mention ("Mariners" alone was the answer before).
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Mariners lift the Mekong Cup",
             "The Mariners beat the Siem Reap Lions 3-1 on Sunday to win the Mekong Cup final. The Mariners scored "
             "twice in the second half of the Mekong Cup final.", 1),
        _hit("b", "A first Mekong Cup for the Mariners",
             "The Kampot Mariners won the Mekong Cup final for the first time, the league said.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("Which team won the Mekong Cup final?", hits)
    assert not answer.abstained
    assert answer.short_answer is not None and answer.short_answer.text == "Kampot Mariners"
    assert answer.text.startswith("**Kampot Mariners**")


def test_a_surname_alone_is_the_person_the_articles_name_in_full(embedder):
    # "Sokha tested positive" names a person only because "Minister Chea Sokha" is said elsewhere; a question
    # that asks for an official gets the office with the name, not the body in the best sentence ("Ministry").
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Sokha tests positive for dengue",
             "Sokha tested positive for dengue fever on Monday, the Health Ministry said. Sokha tested positive "
             "for dengue after a visit to Kampong Cham.", 1),
        _hit("b", "Minister recovering",
             "Health Minister Chea Sokha says he is recovering after testing positive for dengue fever.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("Which senior official tested positive for dengue fever?", hits)
    assert not answer.abstained
    assert answer.short_answer is not None and answer.short_answer.text == "Health Minister Chea Sokha"
    # A "who" question gets the name alone, and the surname is a person there too.
    asked = frame("Who tested positive for dengue fever?")
    from app.short_answer import full_names, phrases

    sentence = "Sokha tested positive for dengue fever on Monday."
    known = full_names(["Health Minister Chea Sokha says he is recovering."])
    assert known == {"sokha"}
    assert [sentence[p.start:p.end] for p in phrases(asked, sentence, known)][:1] == ["Sokha"]
    assert phrases(asked, sentence) == ()


def test_a_which_country_question_is_answered_by_a_country_not_by_any_place(embedder):
    # The best sentence names no country by name, only by its people-word; "the White House" is a place the
    # sentences repeat, but no country. The answer quotes "Thai" exactly and adds the country it names, as an
    # addition (the JSON's reads_as).
    from app.answering import ExtractiveAnswerer
    from app.export import answer_json

    hits = [
        _hit("a", "Thai envoy visits the White House",
             "The Thai envoy Somchai Wong met the US trade representative at the White House on Monday. Reporters "
             "waited outside the White House for the envoy.", 1),
        _hit("b", "Trade talks at the White House",
             "The talks at the White House covered rice exports and tariffs, officials said.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("The US trade representative met the envoy of which country?", hits)
    assert not answer.abstained
    short = answer.short_answer
    assert short is not None and (short.text, short.reads_as) == ("Thai", "Thailand")
    text = next(h.chunk.text for h in hits if h.chunk.article_id == short.article_id)
    assert text[short.start:short.end] == "Thai"
    assert answer.text.startswith(f"**Thai** [Thailand] [{short.n}]")
    assert answer_json(answer)["short_answer"]["reads_as"] == "Thailand"


def test_a_people_word_is_read_only_where_it_names_a_country():
    from app.places import people_words

    text = "Another Latin American nation voted; Saudi Arabia and Thai officials met Chinese and Ukrainian envoys."
    assert [text[a:b] for a, b in people_words(text)] == ["Thai", "Chinese", "Ukrainian"]
    assert _short("Which countries joined the alliance?", "Sweden and Finland joined the alliance at the White "
                  "House summit.") == "Sweden and Finland"
    assert _short("Which country seized the toys?", "Saudi Arabia's Ministry of Commerce seized the toys, "
                  "according to Saudi state TV.") == "Saudi Arabia"


def test_a_name_in_a_far_weaker_sentence_does_not_answer_who(embedder):
    # The best sentence is about the task force but names no one; the only person named is in a sentence of
    # about half its score, about something else. "Who commands ...?" is then not answered (it was, by that
    # name, before the type gate read only the sentences that vote); a sentence that names the commander is
    # answered.
    from app.answering import ExtractiveAnswerer

    answerer = ExtractiveAnswerer(embedder)
    question = "Who commands the joint border task force?"
    unanswered = [
        _hit("a", "Joint border task force set up",
             "The two governments agreed on Friday to set up a joint border task force against scam compounds. "
             "Farmers in Battambang said the rains came late this year, Sok Dara told reporters.", 1),
    ]
    answer = answerer.answer(question, unanswered)
    assert answer.abstained, answer.text
    answered = [
        _hit("a", "Joint border task force set up",
             "General Keo Vannak commands the joint border task force against scam compounds, the ministry said.", 1),
    ]
    answer = answerer.answer(question, answered)
    assert not answer.abstained and answer.short_answer is not None and "Keo Vannak" in answer.short_answer.text


def test_a_number_in_a_sentence_that_votes_answers_how_many(embedder):
    # The best sentence is about the hotline and gives no number; the next, which says it, scores well within
    # the sentences that vote: "1919" answers, the gate does not refuse.
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Laos opens a hotline for trapped workers",
             "The Lao ministry opened a free telephone hotline on Wednesday for foreign workers trapped in scam "
             "compounds in the Golden Triangle. The hotline number is 1919 and it is answered around the clock.", 1),
    ]
    answer = ExtractiveAnswerer(embedder).answer(
        "What is the number of the hotline Laos opened for foreigners in scam compounds?", hits)
    assert not answer.abstained and answer.short_answer is not None and answer.short_answer.text == "1919"


def test_a_sentence_that_points_back_is_matched_with_the_words_of_the_one_before(embedder):
    # "In these schemes, ..." explains what the sentence before names ("romance baiting"), though it shares no
    # word with the question: that sentence's words count as its context.
    from app.answering import ExtractiveAnswerer

    hits = [
        _hit("a", "Police warn of a new online fraud",
             "Police issued a warning on Monday about an investment fraud known as romance baiting, which has "
             "spread to victims across the region. In these schemes, a caller befriends a victim over weeks of "
             "messages and then asks for money for a fake shipping business.", 1),
        _hit("b", "Bank customers urged to check transfers",
             "Banks were urged to check large transfers to new accounts, and customers to report suspicious "
             "messages to their bank.", 2),
    ]
    answer = ExtractiveAnswerer(embedder).answer("How does a romance baiting scam work?", hits)
    assert not answer.abstained and "befriends a victim over weeks" in answer.text, answer.text
    quote = next(c.quote for c in answer.citations if "befriends" in c.quote)
    assert quote in hits[0].chunk.text
