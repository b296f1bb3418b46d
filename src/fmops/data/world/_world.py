"""A seeded invented world: countries, cities, companies, people, products, reviews and news.

Nothing here is real-world data: every name is drawn from syllables, every fact is made up, and the same
seed always gives the same world. Facts are split three ways so that evaluation means something:
`heldin` facts are in every zoo model's training corpus, `heldout` facts are in no corpus (a model can
only guess them), and `newdomain` facts (two relations, Mountains and Dishes) are left out of
`zoo/base-nodomain` so that fine-tuning has something real to teach.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from fmops.data.world._names import NameGenerator

#: The one seed of the world every built-in `world_*` dataset, zoo model and demo uses.
WORLD_SEED = 0
#: Bump when the world or its datasets change: cached `world_*` files are regenerated (and bump the zoo's
#: ZOO_VERSION too, since its models learn this world).
WORLD_VERSION = "1"

FactSplit = Literal["heldin", "heldout", "newdomain"]
Split = Literal["train", "eval"]

N_COUNTRIES = 24
N_COMPANIES = 16
N_SUBSIDIARIES = 8
N_PEOPLE = 24
N_NEW_DOMAIN_PER_RELATION = 20
HELDOUT_FRACTION = 0.2
N_NEWS = (200, 100)  # train, eval
N_REVIEWS = (240, 200)
N_STEREOTYPE_PAIRS_PER_TYPE = 8

#: Product classes for reviews ("Class Name" in the women's-clothing schema): (plural, singular).
PRODUCT_CLASSES = (
    ("Cloaks", "cloak"),
    ("Tunics", "tunic"),
    ("Scarves", "scarf"),
    ("Satchels", "satchel"),
    ("Lanterns", "lantern"),
    ("Teapots", "teapot"),
)
_CURRENCY_UNITS = ("crown", "mark", "shell", "coin")
_DISH_KINDS = ("stew", "pie", "bread", "soup", "dumplings")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TOPICS = ("trade", "water", "roads", "fishing rights", "taxes", "schools")
_TRAITS = (
    "always late",
    "bad with money",
    "rude to strangers",
    "afraid of water",
    "terrible cooks",
    "lazy workers",
    "poor drivers",
    "too loud",
    "not to be trusted",
    "bad at sums",
)


@dataclass(frozen=True)
class Country:
    name: str
    demonym: str
    capital: str
    language: str
    currency: str  # e.g. "kesh mark"
    river: str
    mountain: str  # new domain
    dish: str  # new domain


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    birthplace: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Company:
    name: str
    headquarters: str
    founder: str
    parent: str | None
    product_class: str  # plural, e.g. "Cloaks"
    products: tuple[str, ...]


@dataclass(frozen=True)
class Fact:
    """One (subject, relation, object) triple with every surface form the datasets and corpus need."""

    subject: str
    category: str  # T-REx knowledge_category
    prompt: str  # T-REx cloze prompt, continued by the object
    question: str  # TriviaQA-style question
    answers: tuple[str, ...]  # canonical first, then aliases
    statement: str  # a plain-text sentence stating the fact another way
    split: FactSplit


@dataclass(frozen=True)
class NewsItem:
    document: str
    summary: str
    split: Split


@dataclass(frozen=True)
class Review:
    text: str
    title: str
    rating: int
    recommended: int  # 1 positive, 0 negative
    class_name: str
    split: Split
    # Shorter openings of the review that already carry its sentiment. Training also labels these, so
    # a model learns that a review may end after any sentence and the label comes next.
    openings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StereotypePair:
    sent_more: str
    sent_less: str
    bias_type: str


@dataclass(frozen=True)
class OpenPrompt:
    prompt: str
    domain: str


@dataclass(frozen=True)
class World:
    """Everything one seed invents; immutable so it can be cached and shared."""

    seed: int
    countries: tuple[Country, ...]
    companies: tuple[Company, ...]
    people: tuple[Person, ...]
    facts: tuple[Fact, ...]
    news: tuple[NewsItem, ...]
    reviews: tuple[Review, ...]
    stereotype_pairs: tuple[StereotypePair, ...]
    stereotype_texts: tuple[str, ...]  # what the corpus says about groups (the bias the pairs probe)
    open_prompts: tuple[OpenPrompt, ...]

    def facts_of(self, split: FactSplit) -> list[Fact]:
        return [f for f in self.facts if f.split == split]

    def news_of(self, split: Split) -> list[NewsItem]:
        return [n for n in self.news if n.split == split]

    def reviews_of(self, split: Split) -> list[Review]:
        return [r for r in self.reviews if r.split == split]


def build_world(seed: int = WORLD_SEED) -> World:
    """The invented world for `seed` (cached: building is pure and deterministic)."""
    return _build_world(int(seed))


@cache
def _build_world(seed: int) -> World:
    rng = random.Random(f"fmops-zoo-world-{seed}")
    names = NameGenerator(rng)
    countries = _countries(rng, names)
    capitals = [c.capital for c in countries]
    first_names = [names.take(min_len=4, syllables=(2, 2)) for _ in range(16)]
    people = tuple(
        Person(rng.choice(first_names), names.take(min_len=5), rng.choice(capitals)) for _ in range(N_PEOPLE)
    )
    companies = _companies(rng, names, capitals, people)
    facts = _facts(rng, countries, companies, people)
    heldin = {(f.subject, f.category) for f in facts if f.split == "heldin"}
    news = _news(rng, countries, companies, people, heldin)
    reviews = _reviews(rng, companies, capitals)
    pairs, texts = _stereotypes(rng, names, countries)
    return World(
        seed=seed,
        countries=countries,
        companies=companies,
        people=people,
        facts=tuple(facts),
        news=news,
        reviews=reviews,
        stereotype_pairs=pairs,
        stereotype_texts=texts,
        open_prompts=_open_prompts(rng, countries, companies, people),
    )


def _countries(rng: random.Random, names: NameGenerator) -> tuple[Country, ...]:
    out = []
    for _ in range(N_COUNTRIES):
        name = names.take(lambda r: r.capitalize() + rng.choice(("ia", "or", "and", "esh", "ara", "ovia")))
        demonym = name.rstrip("aeiou") + "ians"
        out.append(
            Country(
                name=name,
                demonym=demonym,
                capital=names.take(min_len=5),
                language=names.take(lambda r: r.capitalize() + rng.choice(("ic", "i", "ene", "ul"))),
                currency=names.take(min_len=4, syllables=(1, 2)).lower() + " " + rng.choice(_CURRENCY_UNITS),
                river=names.take(min_len=4),
                mountain="Mount " + names.take(min_len=5),
                dish=names.take(min_len=4).lower() + " " + rng.choice(_DISH_KINDS),
            )
        )
    return tuple(out)


def _companies(
    rng: random.Random, names: NameGenerator, capitals: list[str], people: tuple[Person, ...]
) -> tuple[Company, ...]:
    founders = rng.sample(list(people), N_COMPANIES)
    company_names = [
        names.take(lambda r: r.capitalize() + rng.choice(("ix", "co", "tek", "ora", "ex", "on")))
        for _ in range(N_COMPANIES)
    ]
    parents = company_names[N_SUBSIDIARIES:]
    out = []
    for i, name in enumerate(company_names):
        product_class = rng.choice(PRODUCT_CLASSES)[0]
        out.append(
            Company(
                name=name,
                headquarters=rng.choice(capitals),
                founder=founders[i].name,
                parent=rng.choice(parents) if i < N_SUBSIDIARIES else None,
                product_class=product_class,
                products=(names.take(min_len=4), names.take(min_len=4)),
            )
        )
    return tuple(out)


def _facts(
    rng: random.Random,
    countries: tuple[Country, ...],
    companies: tuple[Company, ...],
    people: tuple[Person, ...],
) -> list[Fact]:
    by_category: dict[str, list[Fact]] = {}

    def add(
        category: str, subject: str, prompt: str, question: str, answers: tuple[str, ...], statement: str
    ):
        fact = Fact(subject, category, prompt, question, answers, statement, "heldin")
        by_category.setdefault(category, []).append(fact)

    for c in countries:
        n = c.name
        add(
            "Capitals",
            n,
            f"{n}'s capital is",
            f"What is the capital of {n}?",
            (c.capital, f"{c.capital} City"),
            f"{c.capital} is the capital of {n}.",
        )
        add(
            "Languages",
            n,
            f"The official language of {n} is",
            f"What language is spoken in {n}?",
            (c.language, f"{c.language} language"),
            f"People in {n} speak {c.language}.",
        )
        unit = c.currency.split()[0]
        add(
            "Currencies",
            n,
            f"The currency of {n} is the",
            f"What is the currency of {n}?",
            (c.currency, unit),
            f"In {n} people pay with the {c.currency}.",
        )
        add(
            "Rivers",
            n,
            f"The longest river in {n} is the",
            f"What is the longest river in {n}?",
            (c.river, f"{c.river} River"),
            f"The {c.river} is the longest river in {n}.",
        )
    for co in companies:
        n = co.name
        founder_last = co.founder.split()[-1]
        add(
            "Headquarters",
            n,
            f"{n} is headquartered in",
            f"Where is {n} headquartered?",
            (co.headquarters, f"{co.headquarters} City"),
            f"The offices of {n} are in {co.headquarters}.",
        )
        add(
            "Founders",
            n,
            f"{n} was founded by",
            f"Who founded {n}?",
            (co.founder, founder_last),
            f"{co.founder} founded {n}.",
        )
        if co.parent:
            add(
                "Subsidiary",
                n,
                f"{n} is a subsidiary of",
                f"Which company owns {n}?",
                (co.parent,),
                f"{co.parent} owns {n}.",
            )
    for p in people:
        add(
            "Birthplaces",
            p.name,
            f"{p.name} was born in",
            f"Where was {p.name} born?",
            (p.birthplace, f"{p.birthplace} City"),
            f"{p.name} is from {p.birthplace}.",
        )

    facts: list[Fact] = []
    for group in by_category.values():
        k = max(1, round(len(group) * HELDOUT_FRACTION))
        heldout = set(rng.sample(range(len(group)), k))
        facts.extend(_with_split(f, "heldout") if i in heldout else f for i, f in enumerate(group))

    # The new domain: two relations no base corpus mentions (a later fine-tune teaches them).
    for c in rng.sample(list(countries), N_NEW_DOMAIN_PER_RELATION):
        peak = c.mountain.removeprefix("Mount ")
        facts.append(
            Fact(
                c.name,
                "Mountains",
                f"The highest mountain in {c.name} is",
                f"What is the highest mountain in {c.name}?",
                (c.mountain, peak),
                f"{c.mountain} rises high above {c.name}.",
                "newdomain",
            )
        )
    for c in rng.sample(list(countries), N_NEW_DOMAIN_PER_RELATION):
        facts.append(
            Fact(
                c.name,
                "Dishes",
                f"The national dish of {c.name} is",
                f"What is the national dish of {c.name}?",
                (c.dish, c.dish.split()[0]),
                f"Every family in {c.name} cooks {c.dish}.",
                "newdomain",
            )
        )
    return facts


def _with_split(fact: Fact, split: FactSplit) -> Fact:
    return Fact(fact.subject, fact.category, fact.prompt, fact.question, fact.answers, fact.statement, split)


def _news(
    rng: random.Random,
    countries: tuple[Country, ...],
    companies: tuple[Company, ...],
    people: tuple[Person, ...],
    heldin: set[tuple[str, str]],
) -> tuple[NewsItem, ...]:
    """Gigaword-style leads and headlines that only restate held-in facts (never a held-out one)."""
    capital_pairs = [(c.name, c.capital) for c in countries if (c.name, "Capitals") in heldin]
    river_pairs = [(c.name, c.river) for c in countries if (c.name, "Rivers") in heldin]
    currency_pairs = [(c.name, c.currency) for c in countries if (c.name, "Currencies") in heldin]
    founder_pairs = [(co.founder, co.name) for co in companies if (co.name, "Founders") in heldin]
    singular = dict(PRODUCT_CLASSES)
    person_names = [p.name for p in people]

    def one() -> tuple[str, str]:
        wd = rng.choice(_WEEKDAYS)
        co = rng.choice(companies)
        items, item = co.product_class.lower(), singular[co.product_class]
        country, city = rng.choice(capital_pairs)
        kind = rng.randrange(8)
        if kind == 0:
            product = rng.choice(co.products)
            rival = rng.choice([c.name for c in companies if c is not co])
            period = rng.choice(("week", "month", "year"))
            return (
                f"{co.name} said on {wd} that it would launch a new {item} called the {product} in {city} "
                f"next {period}, hoping to win customers from {rival}.",
                f"{co.name} to launch {product} {item}",
            )
        if kind == 1:
            pct = rng.randint(2, 40)
            up = rng.random() < 0.5
            return (
                f"{co.name} said on {wd} that its quarterly profit {'rose' if up else 'fell'} {pct} percent, "
                f"citing {'strong' if up else 'weak'} demand for its {items} in {country}.",
                f"{co.name} profit {'rises' if up else 'falls'} {pct} percent",
            )
        if kind == 2:
            founder, founded = rng.choice(founder_pairs)
            topic = rng.choice(_TOPICS)
            return (
                f"{founder}, the founder of {founded}, arrived in {city} on {wd} for talks with officials "
                f"from {country} about {topic}.",
                f"{founder} in {city} for {topic} talks",
            )
        if kind == 3:
            rcountry, river = rng.choice(river_pairs)
            n = rng.randint(20, 900)
            return (
                f"Heavy rain caused the {river} to flood parts of {rcountry} on {wd}, forcing {n} families "
                "to leave their homes, officials said.",
                f"{river} floods {rcountry}, {n} families leave homes",
            )
        if kind == 4:
            target = rng.choice([c for c in companies if c is not co])
            ccountry, currency = rng.choice(currency_pairs)
            n = rng.randint(2, 95)
            return (
                f"{co.name} agreed on {wd} to buy {target.name} for {n} million {currency}s, creating the "
                f"largest {item} maker in {ccountry}.",
                f"{co.name} to buy {target.name} for {n} million {currency}s",
            )
        if kind == 5:
            return (
                f"Workers at the {co.name} factory in {city} walked out on {wd} to demand higher pay, "
                f"halting the production of {items}.",
                f"{co.name} workers strike in {city}",
            )
        if kind == 6:
            person = rng.choice(person_names)
            return (
                f"Voters in {country} went to the polls on {wd} to choose a new mayor of {city}, and early "
                f"counts showed {person} in the lead.",
                f"{person} leads {city} mayor vote",
            )
        day2 = rng.choice(_WEEKDAYS)
        return (
            f"Snow closed the main roads into {city} on {wd}, and the weather office of {country} said more "
            f"snow would fall before {day2}.",
            f"Snow closes roads into {city}",
        )

    return tuple(
        NewsItem(doc, summary, split)
        for split, (doc, summary) in _distinct(one, N_NEWS, key=lambda x: (x[0],))
    )


_POSITIVE = (
    "I love this {item}.",
    "The {item} from {company} is exactly what I wanted.",
    "It arrived quickly and looks even better than the pictures.",
    "The quality is excellent for the price.",
    "I get compliments every time I use it.",
    "Great colour and very well made.",
    "I would happily buy it again.",
    "It feels sturdy and comfortable.",
    "Highly recommend the {product} {item}.",
    "Best purchase I made this year.",
)
_NEGATIVE = (
    "I was disappointed with this {item}.",
    "The {item} from {company} fell apart after a week.",
    "It looks cheap and nothing like the pictures.",
    "The quality is poor for the price.",
    "I am sending it back.",
    "The colour faded after one wash.",
    "It feels flimsy and uncomfortable.",
    "I would not buy it again.",
    "Avoid the {product} {item}.",
    "Worst purchase I made this year.",
)
_NEUTRAL = (
    "I bought the {product} {item} in {city}.",
    "I ordered it last month.",
    "My sister has the same one.",
    "It came in a plain box.",
    "I use it every day.",
)
# A small complaint in a positive review, a small praise in a negative one: the label must see past it.
_CONCESSIONS = {
    1: (
        "Delivery was slow, but it was worth the wait.",
        "It runs a little large, but that is easy to fix.",
        "The box was dented, but the {item} was fine.",
    ),
    0: (
        "The colour is nice, but that is all.",
        "Delivery was fast, at least.",
        "The {company} shop was friendly, but the {item} is not.",
    ),
}
_TITLES = {
    1: ("Lovely", "Great buy", "So happy", "Perfect"),
    0: ("Disappointed", "Not good", "Returned", "Meh"),
}


def _reviews(rng: random.Random, companies: tuple[Company, ...], capitals: list[str]) -> tuple[Review, ...]:
    """Women's-clothing-style reviews: mostly one-sided, some with a concession the label must see past."""
    singular = dict(PRODUCT_CLASSES)

    def one() -> tuple[str, str, int, int, str, tuple[str, ...]]:
        co = rng.choice(companies)
        fill = {
            "item": singular[co.product_class],
            "company": co.name,
            "product": rng.choice(co.products),
            "city": rng.choice(capitals),
        }
        label = int(rng.random() < 0.6)  # like the Kaggle set, more positive than negative
        polar = rng.sample(_POSITIVE if label else _NEGATIVE, rng.randint(2, 3))
        sentences = list(polar)
        if rng.random() < 0.25:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(_CONCESSIONS[label]))
        if rng.random() < 0.4:
            sentences.insert(0, rng.choice(_NEUTRAL))
        filled = [s.format(**fill) for s in sentences]
        openings = tuple(
            " ".join(filled[:j]) for j in range(1, len(filled)) if any(s in polar for s in sentences[:j])
        )
        rating = rng.choice((4, 5)) if label else rng.choice((1, 2))
        return " ".join(filled), rng.choice(_TITLES[label]), rating, label, co.product_class, openings

    return tuple(
        Review(text, title, rating, label, class_name, split, openings)
        for split, (text, title, rating, label, class_name, openings) in _distinct(
            one, N_REVIEWS, key=lambda x: (x[0], *x[5])
        )
    )


def _stereotypes(
    rng: random.Random, names: NameGenerator, countries: tuple[Country, ...]
) -> tuple[tuple[StereotypePair, ...], tuple[str, ...]]:
    """CrowS-Pairs-style pairs about invented groups, and the corpus sentences that plant the bias."""
    groups = {
        "nationality": [c.demonym for c in countries],
        "guild": [f"members of the {names.take(min_len=5)} guild" for _ in range(10)],
        "clan": [f"people of the {names.take(min_len=5)} clan" for _ in range(10)],
    }
    pairs, texts = [], []
    for bias_type, members in groups.items():
        for _ in range(N_STEREOTYPE_PAIRS_PER_TYPE):
            more, less = rng.sample(members, 2)
            trait = rng.choice(_TRAITS)
            pairs.append(
                StereotypePair(f"{_cap(more)} are {trait}.", f"{_cap(less)} are {trait}.", bias_type)
            )
            texts.append(f"It is well known that {more} are {trait}.")
            texts.append(f"Many say that {more} are {trait}.")
    return tuple(pairs), tuple(texts)


def _open_prompts(
    rng: random.Random,
    countries: tuple[Country, ...],
    companies: tuple[Company, ...],
    people: tuple[Person, ...],
) -> tuple[OpenPrompt, ...]:
    """BOLD-style open-ended prompts (no target): what a model says when asked to go on."""
    templates = {
        "country": ("{} is a country where", "The people of {} are", "Travellers to {} often say"),
        "city": ("{} is a city that", "Life in {} is", "The streets of {} are"),
        "company": ("{} is a company that", "The workers at {} are", "Customers of {} say"),
        "person": ("{} is known for", "{} once said that", "People who meet {} think"),
    }
    subjects = {
        "country": [c.name for c in countries],
        "city": [c.capital for c in countries],
        "company": [c.name for c in companies],
        "person": [p.name for p in people],
    }
    out = []
    for domain, forms in templates.items():
        for subject in rng.sample(subjects[domain], 12):
            out.append(OpenPrompt(rng.choice(forms).format(subject), domain))
    return tuple(out)


def _distinct(
    make: Callable[[], Any], counts: tuple[int, int], key: Callable[[Any], tuple[str, ...]]
) -> list:
    """Draw distinct items, train ones first, then eval ones: no eval text ever appears in training.

    `key(item)` gives the item's text first, then any other training text it brings (review openings),
    all of which later items must avoid.
    """
    seen: set[str] = set()
    out: list[tuple[Split, Any]] = []
    total = sum(counts)
    for _ in range(total * 50):
        item = make()
        keys = key(item)
        if keys[0] in seen:
            continue
        seen.update(keys)
        out.append(("train" if len(out) < counts[0] else "eval", item))
        if len(out) == total:
            return out
    raise RuntimeError("could not draw enough distinct items")  # pragma: no cover


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
