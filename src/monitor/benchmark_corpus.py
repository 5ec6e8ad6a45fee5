"""Synthetic news for `monitor bench`: feeds and pages generated in memory from a fixed seed.

Two runs with the same seed see the same stories. About half the stories are about the bundled
seed's topic (they pass the keyword gate and give the matcher real work); the rest are markets,
weather, sport and culture stories the gate keeps out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape

DEFAULT_SEED = 20160819
MIN_PAGE_WORDS, MAX_PAGE_WORDS = 400, 800


def _options(text: str) -> list[str]:
    """Choices written as one string, separated by '|', which keeps long word lists compact."""
    return text.split("|")


# Slot values for the sentence templates below. Every on-topic place names Aleppo or Qaterji, so
# every on-topic title carries a keyword; no off-topic word is one.
_SLOTS: dict[str, list[str]] = {
    "day": _options("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"),
    "month": _options("January|March|May|June|September|November"),
    "place": _options(
        "Aleppo|the Qaterji district of Aleppo|eastern Aleppo|Idlib and Aleppo"
        "|the old city of Aleppo|the outskirts of Aleppo|the Qaterji district"
    ),
    "source": _options(
        "Human Rights Watch|Doctors Without Borders|the Syrian Observatory for Human Rights"
        "|local activists|a United Nations spokesman|rescue workers|residents|opposition officials"
    ),
    "n": [str(n) for n in (3, 7, 12, 18, 24, 40, 65)],
    "city": _options("Lisbon|Oslo|Dublin|Vienna|Porto|Leeds|Lyon|Turin"),
    "team": _options(
        "Harbour United|Northgate Rovers|the city club|the league leaders|the visitors"
    ),
}
_STANCES: dict[str, tuple[str, ...]] = {
    "corroborates": (
        "{source} said Russian and Syrian war planes struck {place} again on {day}.",
        "Witnesses said an air raid, not a mine, destroyed the home of five-year-old Omran"
        " Daqneesh.",
        "{source} said incendiary weapons had been used at least {n} times in Aleppo and Idlib.",
        "Doctors Without Borders said it stopped giving Russia the GPS coordinates of its"
        " hospitals after they were repeatedly hit.",
        "{source} accused Russia of indiscriminately bombing residential areas of {place}.",
        "Analysts said Russian jets often drop unguided bombs on rebel-held parts of {place}.",
        "{source} said hospitals, schools and camps in {place} had been hit by Russian bombs.",
        "The video of Omran, bloodied and covered in dust, was shared millions of times.",
        "Russia has denied bombing the Syrian boy's home, despite evidence from witnesses,"
        " activists and human rights groups.",
        "The Qaterji district has been frequently targeted by Russian and Syrian war planes since"
        " Moscow entered the war in September 2015.",
        "Human Rights Watch said incendiary weapons were used at least 18 times in nine weeks,"
        " including in attacks on Aleppo and Idlib.",
        "Russian air raids have killed thousands, among them at least 500 women and children,"
        " {source} said.",
    ),
    "contradicts": (
        "Russia's defence ministry said on {day} that its aircraft never target populated areas.",
        "A ministry spokesman in Moscow insisted that no Russian jets flew over {place} on {day}.",
        "Officials in Moscow said the boy's home was damaged by a rebel mine, not an air strike.",
        "The ministry said Russian forces had never used incendiary weapons in Syria.",
        "Doctors Without Borders said it had resumed sharing the locations of its clinics with"
        " Russian forces in {month}.",
        "{source} said the death toll in {place} was far lower than opposition groups claimed.",
        "Moscow said the Qaterji district had not been targeted by war planes since {month}.",
        "The Qaterji district has not been targeted by Russian or Syrian war planes, the"
        " ministry said on {day}.",
        "Doctors Without Borders never stopped giving its GPS coordinates to Russia, a spokesman"
        " for the charity said.",
        "Russia has not used cluster or incendiary bombs anywhere in Syria, the ministry said.",
    ),
    "discusses": (
        "The image of Omran Daqneesh has become a symbol of the war's toll on children.",
        "Commentators asked on {day} whether the pictures from {place} would change the talks.",
        "Aid agencies called for a 48-hour pause so that convoys could reach {place}.",
        "Diplomats in Moscow and Washington discussed a new ceasefire for Syria on {day}.",
        "Families in {place} described nights spent in basements as the fighting went on.",
        "{source} said on {day} that it was still gathering accounts from {place}.",
    ),
}
_TITLES = (
    "Fresh air strikes reported in {place}",
    "Moscow denies its jets struck {place}",
    "Rights group documents incendiary weapons in Syria",
    "Omran Daqneesh video prompts calls for a pause in Aleppo",
    "Doctors Without Borders counts damaged hospitals in Syria",
    "Residents of {place} describe a night of bombing",
    "Russian ministry disputes accounts from {place}",
)
_OFF_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "markets": (
        ("Shares edge higher as bond yields fall", "Bank stocks lead a rally in {city}"),
        (
            "Shares in {city} rose {n} points by the close on {day}.",
            "Traders said the bond market had calmed after a volatile {month}.",
            "The central bank left interest rates unchanged, as economists had expected.",
        ),
    ),
    "weather": (
        ("Heatwave to ease by {day}, forecasters say", "Storms bring flooding to {city}"),
        (
            "Forecasters expect temperatures in {city} to reach {n} degrees on {day}.",
            "Several roads near {city} were closed after heavy rain overnight.",
            "The national weather service issued a yellow warning for the coast.",
        ),
    ),
    "sport": (
        ("{team} win the cup final after extra time", "Late goal lifts {team} in {city}"),
        (
            "{team} scored twice in the last {n} minutes to win on {day}.",
            "The coach praised a squad that had lost only once since {month}.",
            "Fans in {city} celebrated long into the night.",
        ),
    ),
    "culture": (
        ("Museum in {city} reopens after renovation", "Film festival opens in {city}"),
        (
            "The museum in {city} reopened on {day} after {n} months of work.",
            "Curators said the new galleries would show works not seen since {month}.",
            "Tickets for the opening weekend sold out within hours.",
        ),
    ),
}
# Share of sentences from a story's own angle, then from its topic at all; the rest is filler.
# Real stories stay on their subject: with less than half on topic, no stance cleared 0.6.
_LEAD_SHARE, _POOL_SHARE = 0.45, 0.8
# Neutral filler: subject x predicate x time gives hundreds of different sentences.
_FILLER = (
    "A local official|The regional governor|One shopkeeper|A spokeswoman for the agency|Two"
    " teachers|A resident of the neighbourhood|The mayor's office|An engineer at the water plant",
    "said supplies were running low|described the week as the hardest so far"
    "|asked for more time to assess the damage|declined to give further details"
    "|said repairs would take months|called for calm|said the main roads were still closed"
    "|said the figures would be checked again",
    "on {day}|late on {day}|in a statement|by telephone|at a briefing|earlier this week"
    "|in an interview|before noon",
)
_OUTLETS = "Wire Desk|Harbour Gazette|Northern Courier|Daily Ledger|Evening Post|Valley Times"
_AUTHORS = "Tom Archer|Sara Lindqvist|Ana Ferreira|Karim Haddad|Lena Novak|James Okafor"


@dataclass(frozen=True, slots=True)
class SyntheticStory:
    """One generated story: the feed entry and the page behind it."""

    path: str  # URL path of its page on the benchmark server
    title: str
    summary: str  # the feed entry's text: the story's first sentence
    paragraphs: tuple[str, ...]
    published: datetime
    on_topic: bool
    author: str

    @property
    def words(self) -> int:
        return sum(len(paragraph.split()) for paragraph in self.paragraphs)


@dataclass(frozen=True, slots=True)
class SyntheticFeed:
    """One generated feed: where it is served, its outlet, RSS or Atom, and its stories."""

    path: str
    outlet: str
    atom: bool
    stories: tuple[SyntheticStory, ...]


def _fill(template: str, rng: random.Random) -> str:
    text = template.format(**{name: rng.choice(values) for name, values in _SLOTS.items()})
    return text[0].upper() + text[1:]


def _filler(rng: random.Random) -> str:
    subject, predicate, time = (rng.choice(part.split("|")) for part in _FILLER)
    return _fill(f"{subject} {predicate} {time}.", rng)


def _templates(
    rng: random.Random, on_topic: bool
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The title templates of one story and the sentence pools it draws from, likeliest first."""
    if on_topic:
        angle = rng.choice(list(_STANCES))
        others = tuple(t for name, pool in _STANCES.items() if name != angle for t in pool)
        return _TITLES, (_STANCES[angle], others)
    titles, sentences = _OFF_TOPICS[rng.choice(list(_OFF_TOPICS))]
    return titles, (sentences,)


def _paragraphs(rng: random.Random, pools: tuple[tuple[str, ...], ...]) -> list[str]:
    target = rng.randint(MIN_PAGE_WORDS + 20, MAX_PAGE_WORDS - 40)
    sentences: list[str] = []
    words = 0
    while words < target:
        draw = rng.random()
        pool = pools[0] if draw < _LEAD_SHARE else pools[-1] if draw < _POOL_SHARE else ()
        sentence = _fill(rng.choice(pool), rng) if pool else _filler(rng)
        if sentence in sentences:
            continue
        sentences.append(sentence)
        words += len(sentence.split())
    paragraphs, start = [], 0
    while start < len(sentences):
        size = rng.randint(2, 5)
        paragraphs.append(" ".join(sentences[start : start + size]))
        start += size
    return paragraphs


def _story(rng: random.Random, path: str, on_topic: bool, published: datetime) -> SyntheticStory:
    titles, pools = _templates(rng, on_topic)
    title = _fill(rng.choice(titles), rng)
    paragraphs = _paragraphs(rng, pools)
    summary = paragraphs[0].split(". ")[0].rstrip(".") + "."
    author = rng.choice(_AUTHORS.split("|"))
    return SyntheticStory(path, title, summary, tuple(paragraphs), published, on_topic, author)


def build_feeds(
    feeds: int, entries_per_feed: int, now: datetime, seed: int = DEFAULT_SEED
) -> list[SyntheticFeed]:
    """Deterministic synthetic feeds; three stories in five are on topic, in a rotating pattern."""
    rng = random.Random(seed)
    outlets = _OUTLETS.split("|")
    result = []
    for feed in range(feeds):
        stories = tuple(
            _story(
                rng,
                f"/pages/f{feed:03d}/story-{entry:03d}.html",
                (feed + entry) % 5 not in (1, 4),
                now - timedelta(minutes=17 * entry + 3 * feed + 5),
            )
            for entry in range(entries_per_feed)
        )
        outlet = f"{outlets[feed % len(outlets)]} {feed + 1}"
        atom = feed % 2 == 1
        result.append(SyntheticFeed(f"/feeds/f{feed:03d}.xml", outlet, atom, stories))
    return result


def render_page(story: SyntheticStory, outlet: str, base_url: str) -> bytes:
    """The story as a news page: masthead, navigation, article, related links and footer."""
    url, title = escape(base_url + story.path), escape(story.title)
    body = "\n".join(f"  <p>{escape(paragraph)}</p>" for paragraph in story.paragraphs)
    stamp = story.published.isoformat()
    nav = "".join(
        f'<li><a href="/{s.lower()}/">{s}</a></li>' for s in ("World", "Business", "Sport")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {escape(outlet)}</title>
<meta name="description" content="{escape(story.summary)}">
<meta name="author" content="{escape(story.author)}">
<meta property="og:site_name" content="{escape(outlet)}">
<meta property="og:title" content="{title}">
<meta property="og:url" content="{url}"><meta property="article:published_time" content="{stamp}">
<link rel="canonical" href="{url}"></head>
<body><header class="masthead"><a class="logo" href="/">{escape(outlet)}</a></header>
<nav class="main-nav"><ul>{nav}</ul></nav>
<main><article><h1>{title}</h1>
  <div class="byline">By <span class="author">{escape(story.author)}</span>
  <time datetime="{stamp}">{story.published:%d %B %Y}</time></div>
{body}
</article><aside class="related"><h2>More from {escape(outlet)}</h2>
<ul><li><a href="/world/">World news in brief</a></li><li><a href="/markets/">Markets</a></li></ul>
</aside></main>
<footer class="site-footer">
<p><a href="/terms">Terms of use</a> | <a href="/privacy">Privacy</a></p></footer></body></html>
""".encode()


def _feed_item(story: SyntheticStory, base_url: str, atom: bool) -> str:
    url, title = escape(base_url + story.path), escape(story.title)
    if atom:
        return (
            f'<entry><title>{title}</title><link rel="alternate" href="{url}"/><id>{url}</id>'
            f"<updated>{story.published.isoformat()}</updated>"
            f"<author><name>{escape(story.author)}</name></author>"
            f"<summary>{escape(story.summary)}</summary></entry>"
        )
    return (
        f'<item><title>{title}</title><link>{url}</link><guid isPermaLink="true">{url}</guid>'
        f"<pubDate>{format_datetime(story.published)}</pubDate>"
        f"<description>{escape(story.summary)}</description></item>"
    )


def render_feed(feed: SyntheticFeed, base_url: str) -> bytes:
    """The feed as RSS 2.0 or Atom 1.0 XML."""
    items = "\n".join(_feed_item(story, base_url, feed.atom) for story in feed.stories)
    title, url = escape(f"{feed.outlet}: World"), escape(base_url + feed.path)
    if feed.atom:
        updated = feed.stories[0].published.isoformat() if feed.stories else ""
        head = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>{url}</id>'
        text = f"{head}<updated>{updated}</updated>\n{items}\n</feed>"
    else:
        head = f'<rss version="2.0"><channel><title>{title}</title><link>{url}</link>'
        text = f"{head}<description>{title}</description>\n{items}\n</channel></rss>"
    return f'<?xml version="1.0" encoding="utf-8"?>\n{text}\n'.encode()
