"""Claims from seeds: reading, sentence splitting, the checkable filter, ids and loading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from monitor.claims import (
    claim_id,
    claims_from_seed,
    is_checkable,
    load_claims,
    read_seed,
    split_sentences,
)
from monitor.errors import ConfigError

SEED = Path(__file__).resolve().parents[1] / "seeds" / "omran-daqneesh-2016-08-19.txt"


@pytest.fixture(scope="module")
def seed_claims() -> list[str]:
    return [claim.text for claim in claims_from_seed(SEED)]


def _claims_containing(texts: list[str], fragment: str) -> list[str]:
    return [text for text in texts if fragment in text]


# --- the bundled seed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fragment",
    [
        "Russia has denied bombing a Syrian boy's home",
        "The Qaterji district has been frequently targeted by Russian and Syrian regime war planes",
        "a bomb struck an opposition area of Aleppo",
        "pounding residential areas from the air",
        "Moscow frequently uses banned cluster and incendiary bombs in Syria",
        "has been using incendiary weapons",
        "stopped giving its GPS coordinates to Russia",
        "Up to 500,000 people have been killed in Syria's war",
    ],
    ids=[
        "russia-denied-bombing",
        "qaterji-targeted-by-planes",
        "opposition-area-struck",
        "from-the-air",
        "cluster-and-incendiary",
        "hrw-incendiary",
        "msf-gps",
        "death-toll",
    ],
)
def test_seed_sentence_becomes_a_claim(seed_claims: list[str], fragment: str) -> None:
    assert len(_claims_containing(seed_claims, fragment)) == 1


@pytest.mark.parametrize(
    "fragment",
    [
        "3 min read",
        "19 Aug, 2016",
        "Syrian infant Omran was badly hurt",
        "Picture of pain",
        "Dumb bombs",
        "Despite the evidence, Russia denies hurting Syrian infant Omran",
    ],
    ids=["read-time", "date", "caption", "heading-pain", "heading-bombs", "title"],
)
def test_seed_boilerplate_is_not_a_claim(seed_claims: list[str], fragment: str) -> None:
    assert _claims_containing(seed_claims, fragment) == []


def test_seed_claim_is_a_whole_sentence(seed_claims: list[str]) -> None:
    [claim] = _claims_containing(seed_claims, "stopped giving its GPS coordinates")
    assert claim.startswith("Doctors Without Borders - which operates hospitals in Syria")
    assert claim.endswith("surface-to-surface missiles.")


def test_seed_claims_are_sourced_to_the_file_name() -> None:
    assert {claim.source for claim in claims_from_seed(SEED)} == {SEED.name}


def test_seed_claim_ids_are_the_same_on_every_run() -> None:
    first = [claim.id for claim in claims_from_seed(SEED)]
    second = [claim.id for claim in claims_from_seed(SEED)]
    assert first == second
    assert len(set(first)) == len(first)


def test_seed_claim_ids_survive_rewrapped_whitespace(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    respaced = tmp_path / SEED.name
    respaced.write_text(text.replace("\u00a0", " ").replace(". ", ".   "), encoding="utf-8")
    assert [c.id for c in claims_from_seed(respaced)] == [c.id for c in claims_from_seed(SEED)]


# --- reading seeds -------------------------------------------------------------------------------


def test_text_seed_title_is_its_first_line() -> None:
    title, body = read_seed(SEED)
    assert title == "Despite the evidence, Russia denies hurting Syrian infant Omran"
    assert "Up to 500,000 people" in body


def test_markdown_seed_title_is_its_first_heading(tmp_path: Path) -> None:
    seed = tmp_path / "seed.md"
    seed.write_text("# Strike on the market\n\nThe [council](https://x.invalid) said 12 died.\n")
    assert read_seed(seed) == ("Strike on the market", "The council said 12 died.")


def test_markdown_headings_are_not_claims(tmp_path: Path) -> None:
    seed = tmp_path / "seed.md"
    seed.write_text(
        "# Title\n\n## The Council Said Twelve People Died In The Blast.\n\n"
        "The council said that twelve people died in the blast.\n"
    )
    assert [c.text for c in claims_from_seed(seed)] == [
        "The council said that twelve people died in the blast."
    ]


def test_html_seed_reads_title_and_article_text(tmp_path: Path) -> None:
    seed = tmp_path / "seed.html"
    seed.write_text(
        "<html><head><title>Port closed</title><script>var x = 'The army said 5.';</script></head>"
        "<body><nav>Home | World</nav><article><h1>Port closed</h1>"
        "<p>The harbour authority said the port closed on Monday.</p>"
        "<figure><figcaption>Ships wait outside [Reuters]</figcaption></figure>"
        "<p>Three ships &amp; their crews were turned back.</p></article>"
        "<footer>All rights reserved.</footer></body></html>"
    )
    assert read_seed(seed) == (
        "Port closed",
        "The harbour authority said the port closed on Monday.\n\n"
        "Three ships & their crews were turned back.",
    )


def test_html_seed_without_article_uses_body(tmp_path: Path) -> None:
    seed = tmp_path / "seed.html"
    seed.write_text("<html><body><h1>Floods</h1><p>The river rose 3 metres.</p></body></html>")
    assert read_seed(seed) == ("Floods", "The river rose 3 metres.")


def test_seed_that_is_not_utf8_raises_config_error_naming_it(tmp_path: Path) -> None:
    seed = tmp_path / "broken.txt"
    seed.write_bytes(b"Title\n\nThe army said \xff\xfe it struck.\n")
    with pytest.raises(ConfigError, match=r"broken\.txt") as caught:
        read_seed(seed)
    assert caught.value.path == str(seed)


# --- sentence splitting --------------------------------------------------------------------------


def test_split_keeps_titles_with_their_names() -> None:
    assert split_sentences("Mr. Smith met Dr. Jones in Aleppo. They talked.") == [
        "Mr. Smith met Dr. Jones in Aleppo.",
        "They talked.",
    ]


def test_split_keeps_month_abbreviation_before_a_day() -> None:
    assert split_sentences("The raid came on Aug. 17 at night. Nine died.") == [
        "The raid came on Aug. 17 at night.",
        "Nine died.",
    ]


def test_split_keeps_decimal_numbers_whole() -> None:
    assert split_sentences("Prices rose 2.5 percent. Rents fell.") == [
        "Prices rose 2.5 percent.",
        "Rents fell.",
    ]


def test_split_keeps_acronym_before_a_name() -> None:
    assert split_sentences("He met U.S. Secretary John Kerry in Geneva. Talks failed.") == [
        "He met U.S. Secretary John Kerry in Geneva.",
        "Talks failed.",
    ]


def test_split_ends_sentence_at_acronym_before_an_opener() -> None:
    assert split_sentences("The aid came from the U.S. The ministry said so.") == [
        "The aid came from the U.S.",
        "The ministry said so.",
    ]


def test_split_ends_sentence_after_closing_quote() -> None:
    assert split_sentences('He said: "It is over." Then he left!') == [
        'He said: "It is over."',
        "Then he left!",
    ]


def test_split_ends_sentence_at_question_mark() -> None:
    assert split_sentences("Who fired? Nobody knows.") == ["Who fired?", "Nobody knows."]


def test_split_does_not_break_before_lower_case() -> None:
    assert split_sentences("Aid, food, etc. were sent to Idlib.") == [
        "Aid, food, etc. were sent to Idlib."
    ]


def test_split_treats_blank_line_as_a_boundary() -> None:
    assert split_sentences("Heading without stop\n\nThe army\nsaid 5 died.") == [
        "Heading without stop",
        "The army said 5 died.",
    ]


# --- the checkable filter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The shelling lasted for about 40 minutes on the road.",
        "Nobody expected that Moscow would change course so soon.",
        "The ministry said that nothing had changed on the ground.",
        "Warplanes bombed the market early in the morning yesterday.",
        "The charity stopped sharing the location of its clinics.",
    ],
    ids=["number", "named-actor", "attribution", "event", "stopped"],
)
def test_checkable_sentence_is_kept(sentence: str) -> None:
    assert is_checkable(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "3 min read",
        "5 min read about the war in Syria today.",
        "19 Aug, 2016",
        "Syrian infant Omran was badly hurt and injured in the Syrian bombing [AMC]",
        "Picture of pain",
        "Did Russia bomb the house of the boy in Aleppo?",
        "Russia bombed Aleppo.",
        "It was a long and very hot summer for everyone there.",
        "The war in Syria goes on and on and on without end",
        "© 2016 The Daily Ledger. All rights reserved.",
    ],
    ids=[
        "read-time",
        "read-time-sentence",
        "date",
        "caption",
        "heading",
        "question",
        "too-short",
        "no-signal",
        "no-final-stop",
        "copyright",
    ],
)
def test_non_checkable_sentence_is_dropped(sentence: str) -> None:
    assert not is_checkable(sentence)


# --- ids -----------------------------------------------------------------------------------------


def test_claim_id_is_sha1_of_normalised_text() -> None:
    normalised = b"russia denied it - \"never\" at 'all'."
    expected = hashlib.sha1(normalised, usedforsecurity=False).hexdigest()[:12]
    assert claim_id("Russia  denied it — “never” at ‘all’.") == expected


def test_claim_id_ignores_case_and_spacing() -> None:
    assert claim_id("Russia denied\u00a0 the  strike.") == claim_id(" russia DENIED the strike. ")


def test_claim_id_differs_for_different_text() -> None:
    assert claim_id("Russia denied the strike.") != claim_id("Russia confirmed the strike.")


# --- loading -------------------------------------------------------------------------------------


def _write_seed(folder: Path, name: str, sentence: str) -> None:
    (folder / name).write_text(f"Title\n\n{sentence}\n", encoding="utf-8")


def test_load_claims_reads_seeds_in_name_order_then_pinned(tmp_path: Path) -> None:
    _write_seed(tmp_path, "b.txt", "The army said 12 people died in Homs.")
    _write_seed(tmp_path, "a.md", "The army said 3 people died in Hama.")
    (tmp_path / "notes.json").write_text('{"x": "The army said 9 people died."}')
    claims = load_claims(tmp_path, ["Russia bombed the bakery in the town, officials said."])
    assert [(c.source, c.text) for c in claims] == [
        ("a.md", "The army said 3 people died in Hama."),
        ("b.txt", "The army said 12 people died in Homs."),
        ("config", "Russia bombed the bakery in the town, officials said."),
    ]


def test_load_claims_drops_duplicates_by_id(tmp_path: Path) -> None:
    _write_seed(tmp_path, "a.txt", "The army said 3 people died in Hama.")
    _write_seed(tmp_path, "b.txt", "The army said 3  people died in Hama.")
    claims = load_claims(tmp_path, ["the army said 3 people died in hama."])
    assert [c.source for c in claims] == ["a.txt"]


def test_load_claims_of_bundled_seeds_starts_with_the_seed_claims() -> None:
    claims = load_claims(SEED.parent, [])
    assert [c.id for c in claims] == [c.id for c in claims_from_seed(SEED)]


def test_missing_seeds_folder_raises_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-seeds"
    with pytest.raises(ConfigError, match="no-such-seeds") as caught:
        load_claims(missing, [])
    assert caught.value.path == str(missing)


def test_unreadable_seed_raises_config_error_naming_the_file(tmp_path: Path) -> None:
    _write_seed(tmp_path, "a.txt", "The army said 3 people died in Hama.")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\xfa broken")
    with pytest.raises(ConfigError) as caught:
        load_claims(tmp_path, [])
    assert caught.value.path == str(tmp_path / "b.txt")


def test_sentence_leaning_on_the_previous_one_is_not_a_claim() -> None:
    assert not is_checkable("It captured the heartache and carnage inflicted on Aleppo by bombs.")
    assert not is_checkable("This is despite the rebels saying they would agree to a ceasefire.")
    assert is_checkable("Instead, Moscow claimed that rebels hit urban areas in Aleppo.")
