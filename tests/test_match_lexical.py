"""The lexical stance model on small hand-written pairs."""

from __future__ import annotations

import pytest

from monitor.match.lexical import Cues, LexicalMatcher, count_cues, decide_stance
from monitor.match.text import split_sentences
from monitor.types import Claim

CLAIM = Claim("c1", "A giant sinkhole swallowed a car park in Leeds on Monday", "seed.txt")


def _match(article: str) -> tuple[str, float, tuple[str, ...]]:
    [stance] = LexicalMatcher().match_sentences([CLAIM], split_sentences(article))
    return stance.label, stance.confidence, stance.evidence


def test_denial_of_the_claim_contradicts() -> None:
    label, _, evidence = _match(
        "Council officials denied that a sinkhole swallowed the Leeds car park. "
        "The photos were fake, they said, and no car park was damaged on Monday. "
        "Traffic was normal."
    )
    assert label == "contradicts"
    assert "denied" in evidence[0] or "fake" in evidence[0]


def test_plain_report_of_the_claim_corroborates() -> None:
    label, _, _ = _match(
        "A giant sinkhole swallowed a car park in Leeds on Monday, the council confirmed. "
        "Engineers said the hole was twenty metres wide."
    )
    assert label == "corroborates"


def test_hedged_report_discusses() -> None:
    label, _, _ = _match(
        "A sinkhole allegedly swallowed a car park in Leeds on Monday, according to unverified "
        "posts. The council may comment later."
    )
    assert label == "discusses"


def test_article_on_another_topic_is_unrelated() -> None:
    label, _, _ = _match(
        "The orchestra opened its season with Mahler. Critics praised the violins. "
        "Tickets sold out within a day."
    )
    assert label == "unrelated"


def test_confidence_is_the_dev_precision_of_the_label() -> None:
    label, confidence, _ = _match(
        "Council officials denied that a sinkhole swallowed the Leeds car park. "
        "The photos were fake, they said, and no car park was damaged on Monday."
    )
    assert (label, confidence) == ("contradicts", 0.17)


def test_evidence_holds_at_most_three_sentences_best_first() -> None:
    _, _, evidence = _match(
        "Weather was fine. A sinkhole swallowed a car park in Leeds. Leeds is in Yorkshire. "
        "Cars were lost in the sinkhole. Nobody was hurt."
    )
    assert len(evidence) == 3
    assert evidence[0] == "A sinkhole swallowed a car park in Leeds."


@pytest.mark.parametrize(
    ("claim_refuting", "evidence_refuting", "label"),
    [(0, 3, "contradicts"), (2, 3, "corroborates")],
)
def test_denial_in_the_claim_cancels_denial_in_the_evidence(
    claim_refuting: int, evidence_refuting: int, label: str
) -> None:
    assert decide_stance(Cues(claim_refuting, 0, 0), Cues(evidence_refuting, 1, 0)) == label


def test_cue_counts_include_phrases() -> None:
    cues = count_cues(["There is no evidence the report is true; officials confirmed nothing."])
    # refuting: "no", "nothing" and the phrase "there is no"; confirming: "evidence", "confirmed".
    assert cues == Cues(refuting=3, confirming=2, hedging=1)
