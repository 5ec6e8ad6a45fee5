"""Extraction: charset, content type, fallbacks, metadata, language and HTML stripping."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime

import pytest

from monitor.extract import (
    decode_html,
    detect_encoding,
    extract_article,
    html_to_text,
    remove_boilerplate,
)
from monitor.language import detect_language
from monitor.types import Article, Entry, HttpResponse

PAGE_URL = "https://news.example.org/city/harbour-bridge"

STORY_EN = [
    "The city council voted on Tuesday to close the old harbour bridge to cars from next spring, "
    "after engineers found that two of its main cables had lost a fifth of their strength.",
    "The bridge, opened in 1931, carries about 14,000 vehicles a day. Buses and bicycles will "
    "still be allowed across while a replacement is designed, the council said in a statement.",
    "Residents of the northern districts said the closure would add twenty minutes to their "
    "journeys. The council promised extra ferry services during the morning and evening peaks.",
    "Repairs to the cables are expected to cost 48 million euros, which the regional government "
    "has agreed to share. Work on the new crossing should begin within three years.",
]
STORY_DE = [
    "Der Stadtrat hat am Dienstag beschlossen, die alte Hafenbrücke ab dem kommenden Frühjahr "
    "für Autos zu sperren, nachdem Ingenieure festgestellt hatten, dass zwei Tragseile geschwächt "
    "sind.",
    "Die Brücke wurde im Jahr 1931 eröffnet und wird täglich von etwa 14.000 Fahrzeugen genutzt. "
    "Busse und Fahrräder dürfen die Brücke auch weiterhin überqueren, teilte die Stadt mit.",
    "Anwohner der nördlichen Stadtteile sagten, die Sperrung werde ihre Wege um zwanzig Minuten "
    "verlängern. Die Stadt versprach zusätzliche Fähren in den Stoßzeiten am Morgen und Abend.",
]
STORY_FR = [
    "Le conseil municipal a voté mardi la fermeture aux voitures du vieux pont du port à partir "
    "du printemps prochain, après que des ingénieurs ont constaté que deux câbles étaient usés.",
    "Le pont, inauguré en 1931, est emprunté chaque jour par environ 14 000 véhicules. Les bus et "
    "les vélos pourront encore le traverser pendant la construction d’un nouvel ouvrage.",
    "Les habitants des quartiers nord disent que la fermeture allongera leurs trajets de vingt "
    "minutes. La ville a promis des navettes fluviales supplémentaires aux heures de pointe.",
]
CAFE_FR = (
    "Le café de la gare a fermé ses portes après vingt-trois ans. « C’est la fin d’une époque », "
    "déclare le propriétaire, très ému. Les habitués, qui venaient chaque matin prendre un crème, "
    "regrettent déjà l’ambiance chaleureuse du comptoir — un lieu où l’on refaisait le monde."
)
STORY_RU = [
    "Городской совет во вторник проголосовал за закрытие старого моста для автомобилей с "
    "будущей весны, после того как инженеры обнаружили износ двух главных тросов.",
    "Мост, открытый в 1931 году, ежедневно пропускает около четырнадцати тысяч машин. Автобусы и "
    "велосипеды по-прежнему смогут проезжать по нему, пока проектируется новая переправа.",
    "Жители северных районов говорят, что закрытие удлинит их дорогу на двадцать минут. Власти "
    "пообещали дополнительные паромы в утренние и вечерние часы пик.",
]


def make_page(
    paragraphs: list[str],
    *,
    head: str = "",
    lang: str | None = "en",
    header: str = "<header><h1>Harbour bridge to close to cars</h1></header>",
) -> str:
    """A news page: navigation, a header, the story in <article>, a footer."""
    lang_attr = f' lang="{lang}"' if lang else ""
    story = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f"<!DOCTYPE html>\n<html{lang_attr}><head>{head}</head><body>\n"
        '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>\n'
        f"{header}\n<main><article>\n{story}\n</article></main>\n"
        "<footer><p>Contact us</p></footer>\n</body></html>"
    )


def make_response(
    body: bytes | str,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
) -> HttpResponse:
    data = body.encode("utf-8") if isinstance(body, str) else body
    headers = {} if content_type is None else {"content-type": content_type}
    return HttpResponse(url=PAGE_URL, final_url=PAGE_URL, status=status, headers=headers, body=data)


def make_entry(
    summary: str = "Engineers found worn cables.", title: str = "Bridge closes"
) -> Entry:
    return Entry(
        feed_url="https://news.example.org/rss",
        entry_id=PAGE_URL,
        title=title,
        link=PAGE_URL,
        published=datetime(2024, 3, 5, 9, 30, tzinfo=UTC),
        summary=summary,
    )


def extract(response: HttpResponse | None, entry: Entry | None = None) -> Article:
    return extract_article(response, entry or make_entry(), min_words=50)


# Charset


def test_charset_from_header_wins_over_meta() -> None:
    html = make_page(["Café owners say the naïve plan will fail.", *STORY_EN], lang=None)
    html = html.replace("<head>", '<head><meta charset="utf-8">')
    text = decode_html(html.encode("cp1252"), "text/html; charset=windows-1252")
    assert "Café owners say the naïve plan" in text


def test_charset_from_meta_charset_decodes_windows_1251() -> None:
    html = make_page(STORY_RU, head='<meta charset="windows-1251">', lang=None)
    text = decode_html(html.encode("cp1251"), "text/html")
    assert "Городской совет во вторник" in text


def test_charset_from_meta_http_equiv() -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    html = make_page(STORY_RU, head=head, lang=None)
    text = decode_html(html.encode("cp1251"), "text/html")
    assert "Мост, открытый в 1931 году" in text


def test_charset_latin1_label_decodes_as_windows_1252() -> None:
    # Browsers read "iso-8859-1" as windows-1252, so curly quotes in 0x80-0x9F survive.
    body = "<p>“Quoted” words</p>".encode("cp1252")
    assert decode_html(body, "text/html; charset=iso-8859-1") == "<p>“Quoted” words</p>"


def test_charset_unknown_label_falls_back_to_detection() -> None:
    body = "<p>Ελληνικά: naïve café</p>".encode()
    assert (
        decode_html(body, "text/html; charset=x-no-such-charset") == "<p>Ελληνικά: naïve café</p>"
    )


def test_charset_byte_order_mark_wins() -> None:
    body = codecs.BOM_UTF8 + "<p>Zürich</p>".encode()
    assert decode_html(body, "text/html; charset=windows-1252") == "<p>Zürich</p>"


def test_detection_reads_undeclared_utf8() -> None:
    body = make_page(["Zürich, São Paulo and Kraków signed the pact.", *STORY_EN]).encode()
    assert detect_encoding(body) == "utf-8"


def test_detection_reads_undeclared_cp1252_french() -> None:
    # charset_normalizer's least-chaos pick for this page alone is cp1257, which reads "aprčs".
    body = make_page([CAFE_FR, *STORY_FR], lang=None).encode("cp1252")
    assert "fermé ses portes après vingt-trois ans" in decode_html(body, "text/html")


def test_detection_reads_undeclared_windows_1251_russian() -> None:
    body = make_page(STORY_RU, lang=None).encode("cp1251")
    assert "Жители северных районов" in decode_html(body, "")


def test_extract_article_decodes_cp1252_page_by_header() -> None:
    body = make_page(STORY_FR, lang="fr").encode("cp1252")
    article = extract(make_response(body, "text/html; charset=windows-1252"))
    assert "inauguré en 1931" in article.text


# Fallbacks


def test_failed_fetch_falls_back_to_feed_summary() -> None:
    article = extract(None)
    assert (article.text_source, article.fallback_reason) == ("feed", "fetch failed")
    assert article.text == "Engineers found worn cables."


def test_http_error_falls_back_with_status() -> None:
    article = extract(make_response(make_page(STORY_EN), status=403))
    assert (article.text_source, article.fallback_reason) == ("feed", "HTTP 403")


def test_non_html_falls_back_with_content_type() -> None:
    article = extract(make_response(b"%PDF-1.7\n...", "application/pdf"))
    assert article.fallback_reason == "page not HTML: application/pdf"


def test_missing_content_type_is_sniffed_as_pdf() -> None:
    article = extract(make_response(b"%PDF-1.7\n...", content_type=None))
    assert article.fallback_reason == "page not HTML: application/pdf"


def test_missing_content_type_is_sniffed_as_html() -> None:
    article = extract(make_response(make_page(STORY_EN), content_type=None))
    assert article.text_source == "page"


def test_thin_page_falls_back_with_word_count() -> None:
    page = make_page(["Subscribers can read this story in the app."], header="")
    article = extract(make_response(page))
    # trafilatura falls back to the whole body for tiny pages, so the count includes the menu.
    assert re.fullmatch(r"thin page: \d+ words", article.fallback_reason or "")
    assert article.text == "Engineers found worn cables."


def test_paywall_stub_falls_back_as_blocked() -> None:
    wall = [STORY_EN[0], "To continue reading, subscribe to The Daily Example for full access."]
    article = extract(make_response(make_page(wall)))
    assert article.fallback_reason == "blocked page: paywall"


def test_consent_stub_falls_back_as_blocked() -> None:
    wall = [
        "We value your privacy. We and our partners store and access information on your device.",
        "Select Accept all cookies to agree, or Manage consent to choose what we may use. " * 3,
    ]
    article = extract(make_response(make_page(wall)))
    assert article.fallback_reason == "blocked page: consent"


def test_feed_fallback_strips_html_from_summary() -> None:
    entry = make_entry(summary="<p>Engineers found <b>worn</b> cables &amp; rust.</p>")
    assert extract(None, entry).text == "Engineers found worn cables & rust."


def test_feed_fallback_keeps_the_pages_declared_language() -> None:
    article = extract(make_response(make_page(["Kurz."], lang="de")), make_entry(summary=""))
    assert (article.text_source, article.language) == ("feed", "de")


def test_feed_fallback_detects_language_of_summary() -> None:
    entry = make_entry(summary=STORY_FR[0], title="Le pont ferme")
    assert extract(None, entry).language == "fr"


# Page text and metadata

METADATA_HEAD = (
    "<title>Harbour bridge to close to cars | The Example Times</title>"
    '<meta property="og:title" content="Harbour bridge to close to cars">'
    '<meta name="author" content="Jane Doe">'
    '<meta property="article:published_time" content="2024-03-04T18:00:00+00:00">'
    '<meta property="og:site_name" content="The Example Times">'
)


def test_page_text_is_the_story() -> None:
    article = extract(make_response(make_page(STORY_EN, head=METADATA_HEAD)))
    assert article.text_source == "page"
    assert STORY_EN[0] in article.text and STORY_EN[-1] in article.text
    assert "Contact us" not in article.text


def test_page_metadata_title_author_site() -> None:
    article = extract(make_response(make_page(STORY_EN, head=METADATA_HEAD)))
    assert (article.title, article.author, article.site_name) == (
        "Harbour bridge to close to cars",
        "Jane Doe",
        "The Example Times",
    )


def test_page_date_becomes_aware_datetime() -> None:
    article = extract(make_response(make_page(STORY_EN, head=METADATA_HEAD)))
    assert article.published == datetime(2024, 3, 4, tzinfo=UTC)


def test_entry_time_is_kept_when_page_gives_the_same_day() -> None:
    head = METADATA_HEAD.replace("2024-03-04", "2024-03-05")
    article = extract(make_response(make_page(STORY_EN, head=head)))
    assert article.published == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)


def test_one_word_page_title_gives_way_to_entry_title() -> None:
    head = "<title>escenic</title>"
    page = make_page(STORY_EN, head=head, header="")
    article = extract(make_response(page), make_entry(title="Bridge"))
    assert article.title == "Bridge"


def test_article_url_is_the_entry_link() -> None:
    response = HttpResponse(
        url=PAGE_URL,
        final_url=PAGE_URL + "?utm_source=rss",
        status=200,
        headers={"content-type": "text/html"},
        body=make_page(STORY_EN).encode(),
    )
    assert extract(response).url == PAGE_URL


def test_boilerplate_lines_are_removed() -> None:
    text = "\n".join([STORY_EN[0], "Read more: Ferry timetable changes", STORY_EN[1]])
    assert remove_boilerplate(text) == f"{STORY_EN[0]}\n{STORY_EN[1]}"


def test_newsletter_promotion_is_removed_but_long_paragraph_mentioning_it_stays() -> None:
    promo = "Never miss a story by signing up to our newsletter today!"
    story = "The council said " + " ".join(["residents who sign up to the newsletter"] * 8) + "."
    assert remove_boilerplate(f"{promo}\n{story}") == story


def test_visible_standfirst_is_put_before_the_text() -> None:
    dek = "Engineers found two worn cables, and the council wants the cars off before winter."
    head = f'<meta name="description" content="{dek}">'
    header = f'<header><h1>Harbour bridge to close</h1><p class="dek">{dek}</p></header>'
    page = make_page(STORY_EN, head=head, header=header)
    assert extract(make_response(page)).text.startswith(dek)


# Language


def test_language_from_html_lang_attribute() -> None:
    article = extract(make_response(make_page(STORY_EN, lang="en-GB")))
    assert article.language == "en"


def test_language_of_german_page_without_lang_attribute() -> None:
    article = extract(make_response(make_page(STORY_DE, lang=None)))
    assert article.language == "de"


def test_language_of_french_page_without_lang_attribute() -> None:
    article = extract(make_response(make_page(STORY_FR, lang=None)))
    assert article.language == "fr"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param(STORY_EN[0], "en", id="en"),
        pytest.param(
            "El gobierno anunció el jueves una nueva ley para limitar los alquileres.",
            "es",
            id="es",
        ),
        pytest.param(
            "Il governo ha annunciato giovedì una nuova legge per limitare gli affitti.",
            "it",
            id="it",
        ),
        pytest.param(
            "O governo anunciou na quinta-feira uma nova lei para limitar os aluguéis.",
            "pt",
            id="pt",
        ),
        pytest.param(
            "De regering heeft donderdag een nieuwe wet aangekondigd om de huren te beperken.",
            "nl",
            id="nl",
        ),
        pytest.param(STORY_RU[0], "ru", id="ru"),
        pytest.param("أعلنت الحكومة يوم الخميس عن قانون جديد", "ar", id="ar"),
        pytest.param("政府周四宣布了一项限制大城市租金的新法律。", "zh", id="zh"),
        # Mostly kanji: a few kana are enough to tell Japanese from Chinese.
        pytest.param("東京都知事は記者会見で新型感染症対策予算案を発表した。", "ja", id="ja"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_without_words_is_none() -> None:
    assert detect_language("2024 — 14,000 / 48") is None


# HTML stripping


def test_html_to_text_drops_tags_scripts_and_decodes_entities() -> None:
    html = "<div><p>Fish &amp; chips</p><script>var x = 1;</script><p>cost&nbsp;£5</p></div>"
    assert html_to_text(html) == "Fish & chips\ncost £5"


def test_html_to_text_puts_list_items_on_lines() -> None:
    assert html_to_text("<ul><li>one</li><li>two <i>more</i></li></ul>") == "one\ntwo more"
