"""The matcher the pipeline uses: loading, and clear results for bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.errors import ModelError
from monitor.match import MODEL_DIR, Matcher, load_matcher
from monitor.match.model import has_model
from monitor.types import STANCE_LABELS, Claim

CLAIM = Claim("c1", "Officials confirmed the bridge over the Tyne collapsed on Sunday", "seed.txt")
ARTICLE = (
    "The bridge over the Tyne collapsed on Sunday, officials confirmed. "
    "Engineers had warned about rust in the bridge for years. "
    "Nobody was on the bridge when it fell."
)
SHIPPED = pytest.param(
    "shipped",
    marks=pytest.mark.skipif(
        not has_model(MODEL_DIR), reason=f"no trained model files in {MODEL_DIR}"
    ),
)


@pytest.fixture(scope="module", params=["lexical", SHIPPED])
def matcher(request: pytest.FixtureRequest) -> Matcher:
    return load_matcher(lexical=request.param == "lexical")


@pytest.mark.skipif(not has_model(MODEL_DIR), reason=f"no trained model files in {MODEL_DIR}")
def test_default_matcher_is_the_shipped_two_stage_model() -> None:
    assert load_matcher().name.startswith("fnc-two-stage")


def test_lexical_matcher_is_named_lexical() -> None:
    assert load_matcher(lexical=True).name == "lexical"


def test_folder_without_model_files_is_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing encoder\.onnx"):
        load_matcher(tmp_path)


def test_loading_logs_which_model(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="monitor"):
        load_matcher(lexical=True)
    assert "match.model_loaded name=lexical" in caplog.text


def test_related_article_gets_a_stance_with_evidence(matcher: Matcher) -> None:
    [stance] = matcher.match([CLAIM], ARTICLE)
    assert stance.label in {"corroborates", "discusses"}
    assert 0.0 <= stance.confidence <= 1.0
    assert "collapsed" in stance.evidence[0]
    assert stance.reason is None


def test_one_stance_per_claim_in_order(matcher: Matcher) -> None:
    other = Claim("c2", "The central bank raised interest rates by half a point", "seed.txt")
    stances = matcher.match([CLAIM, other, CLAIM], ARTICLE)
    assert len(stances) == 3
    assert stances[1].label == "unrelated"
    assert stances[0] == stances[2]


def test_no_claims_give_no_stances(matcher: Matcher) -> None:
    assert matcher.match([], ARTICLE) == []


@pytest.mark.parametrize(
    ("article", "reason"),
    [
        ("", "article has no text"),
        ("   \n\t ", "article has no text"),
        ("Bridge collapse: more soon.", "article has 4 word(s), fewer than 8"),
        (
            "Die Brücke über den Tyne ist am Sonntag eingestürzt. Niemand wurde verletzt. "
            "Die Ingenieure hatten seit Jahren vor Rost gewarnt.",
            "article does not look like English text",
        ),
        (
            "这座桥在星期日倒塌了。没有人受伤。工程师多年来一直警告说桥梁生锈。",
            "article does not look like English text",
        ),
    ],
    ids=["empty", "blank", "four-words", "german", "chinese"],
)
def test_unmatchable_article_is_unrelated_with_reason(
    matcher: Matcher, article: str, reason: str
) -> None:
    [stance] = matcher.match([CLAIM], article)
    assert (stance.label, stance.reason, stance.evidence) == ("unrelated", reason, ())


def test_one_sentence_article_is_matched_with_that_sentence_as_evidence(matcher: Matcher) -> None:
    sentence = "The bridge over the Tyne collapsed on Sunday, officials confirmed."
    [stance] = matcher.match([CLAIM], sentence)
    assert stance.label != "unrelated"
    assert stance.evidence == (sentence,)
    assert stance.reason is None


def test_three_word_claim_is_unrelated_with_reason(matcher: Matcher) -> None:
    short = Claim("c3", "Bridge collapsed Sunday", "seed.txt")
    [stance, full] = matcher.match([short, CLAIM], ARTICLE)
    assert stance.label == "unrelated"
    assert stance.reason == "claim has 3 word(s), fewer than 4"
    assert full.reason is None


def test_html_in_article_never_reaches_the_evidence(matcher: Matcher) -> None:
    html = "<div><p>" + ARTICLE.replace(". ", ".</p><p>") + "</p><script>x()</script></div>"
    [stance] = matcher.match([CLAIM], html)
    assert stance.evidence
    assert not any("<" in sentence or "x()" in sentence for sentence in stance.evidence)


def test_200000_word_article_gives_bounded_evidence(matcher: Matcher) -> None:
    filler = "The weather in the north was cold and grey all week. " * 18_000
    [stance] = matcher.match([CLAIM], ARTICLE + " " + filler)
    assert stance.label in STANCE_LABELS
    assert "collapsed" in stance.evidence[0]
    assert len(stance.evidence) <= 6  # closest three, then up to three lead sentences
