from monitor.keywords import KeywordGate, passes_gate


def test_any_phrase_matches_whole_words_case_insensitively() -> None:
    gate = KeywordGate(any=("Aleppo", "air strike"))
    assert passes_gate("An AIR  STRIKE hit the city", gate)
    assert passes_gate("news from aleppo today", gate)
    assert not passes_gate("Aleppos and airstrikes", gate)


def test_all_requires_every_phrase() -> None:
    gate = KeywordGate(all=("Russia", "Syria"))
    assert passes_gate("Russia denies role in Syria raid", gate)
    assert not passes_gate("Russia wins the match", gate)


def test_none_phrase_rejects_entry() -> None:
    gate = KeywordGate(any=("Syria",), none=("football",))
    assert not passes_gate("Syria football team wins", gate)
    assert passes_gate("Syria talks resume", gate)


def test_regex_must_match() -> None:
    gate = KeywordGate(regex=(r"\b\d{3},\d{3}\b",))
    assert passes_gate("up to 500,000 people", gate)
    assert not passes_gate("hundreds of thousands", gate)


def test_empty_gate_passes_everything() -> None:
    assert passes_gate("anything at all", KeywordGate())
