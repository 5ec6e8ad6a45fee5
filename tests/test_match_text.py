"""Sentence splitting, HTML stripping, retrieval of evidence sentences and FNC file reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ModelError
from monitor.match.fnc import read_pairs
from monitor.match.retrieval import evidence_text, stem, top_sentences
from monitor.match.text import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCE_WORDS,
    MAX_SENTENCES,
    split_sentences,
    strip_html,
    tokens,
)


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "Mr. Smith met Dr. J. Jones in Washington on Monday. They talked for an hour."
    assert split_sentences(text) == [
        "Mr. Smith met Dr. J. Jones in Washington on Monday.",
        "They talked for an hour.",
    ]


def test_closing_quote_stays_with_its_sentence() -> None:
    text = 'He said: "It is over." Then he left! Did anyone follow?'
    assert split_sentences(text) == [
        'He said: "It is over."',
        "Then he left!",
        "Did anyone follow?",
    ]


def test_newline_is_a_sentence_boundary() -> None:
    assert split_sentences("Breaking news\nThe dam has burst") == [
        "Breaking news",
        "The dam has burst",
    ]


def test_decimal_numbers_are_not_split() -> None:
    assert split_sentences("Shares fell 3.5 per cent. Traders shrugged.") == [
        "Shares fell 3.5 per cent.",
        "Traders shrugged.",
    ]


def test_html_left_in_text_is_stripped_before_splitting() -> None:
    text = (
        "<p>The mayor <b>denied</b> it &amp; left.</p><script>var x = 1;</script><p>Next one.</p>"
    )
    assert split_sentences(text) == ["The mayor denied it & left.", "Next one."]


def test_plain_text_with_angle_brackets_passes_strip_html_unchanged() -> None:
    assert strip_html("3 < 4 and 5 > 2") == "3 < 4 and 5 > 2"


def test_tokens_are_lower_case_words_with_inner_apostrophes() -> None:
    assert tokens("It’s NOT the U.S. Army's 2nd claim!") == [
        "it's",
        "not",
        "the",
        "u",
        "s",
        "army's",
        "2nd",
        "claim",
    ]


def test_a_200000_word_text_is_capped_in_sentences_and_words() -> None:
    text = "word " * 200_000 + ". " + "Short one. " * 5000
    sentences = split_sentences(text)
    assert 0 < len(sentences) <= MAX_SENTENCES
    assert max(len(sentence.split()) for sentence in sentences) <= MAX_SENTENCE_WORDS


def test_a_blob_without_spaces_is_cut_to_the_sentence_size_limit() -> None:
    [sentence] = split_sentences("x" * 100_000)
    assert len(sentence) == MAX_SENTENCE_CHARS


def test_many_short_sentences_are_capped_at_the_limit() -> None:
    assert len(split_sentences("It rained. " * 5000)) == MAX_SENTENCES


def test_stem_joins_inflected_forms() -> None:
    assert {stem("claims"), stem("claimed"), stem("claiming")} == {"claim"}
    assert stem("press") == "press"


def test_top_sentences_ranks_the_matching_sentence_first() -> None:
    sentences = [
        "The weather was mild.",
        "Police said the bank robbery in Leeds was staged.",
        "Leeds played well.",
    ]
    ranked = top_sentences("Bank robbery in Leeds staged, police say", sentences, k=2)
    assert [index for index, _ in ranked] == [1, 2]
    assert ranked[0][1] > ranked[1][1] > 0


def test_top_sentences_breaks_ties_by_position() -> None:
    ranked = top_sentences("volcano", ["Nothing here.", "Also nothing.", "None at all."], k=3)
    assert ranked == [(0, 0.0), (1, 0.0), (2, 0.0)]


def test_evidence_text_joins_best_sentences_best_first() -> None:
    body = (
        "Cats sleep a lot. The ship sank near Malta. Rescuers reached the ship near Malta at dawn."
    )
    chosen, joined = evidence_text("Ship sank near Malta", body, k=2)
    assert chosen == ["The ship sank near Malta.", "Rescuers reached the ship near Malta at dawn."]
    assert joined == " ".join(chosen)


def test_evidence_text_of_empty_body_is_empty() -> None:
    assert evidence_text("Ship sank near Malta", "", k=3) == ([], "")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_pairs_joins_multiline_quoted_bodies(tmp_path: Path) -> None:
    bodies = _write(
        tmp_path / "b.csv", 'Body ID,articleBody\n7,"Line one, with ""quotes"".\nLine two."\n'
    )
    stances = _write(tmp_path / "s.csv", "Headline,Body ID,Stance\nA headline,7,agree\n")
    [pair] = read_pairs(stances, bodies)
    assert (pair.headline, pair.body_id, pair.label) == ("A headline", 7, "agree")
    assert pair.body == 'Line one, with "quotes".\nLine two.'


def test_read_pairs_names_file_and_line_of_an_unknown_stance(tmp_path: Path) -> None:
    bodies = _write(tmp_path / "b.csv", "Body ID,articleBody\n7,Text.\n")
    stances = _write(tmp_path / "s.csv", "Headline,Body ID,Stance\nH,7,agree\nH,7,supports\n")
    with pytest.raises(ModelError, match=r"s\.csv:3: unknown stance 'supports'"):
        read_pairs(stances, bodies)


def test_read_pairs_refuses_a_missing_body(tmp_path: Path) -> None:
    bodies = _write(tmp_path / "b.csv", "Body ID,articleBody\n7,Text.\n")
    stances = _write(tmp_path / "s.csv", "Headline,Body ID,Stance\nH,8,agree\n")
    with pytest.raises(ModelError, match="Body ID 8 not in"):
        read_pairs(stances, bodies)
