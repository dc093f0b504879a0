"""The users of a synthetic corpus: Zipf activity, heavy-tailed followers, a language each,
unique usernames, a few verified and protected accounts."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tollhouse.corpus.ids import X_EPOCH_MS
from tollhouse.corpus.models import ContentState
from tollhouse.corpus.models import users as users_table
from tollhouse.corpus.synthetic.bulk_rows import RowEncoding
from tollhouse.corpus.synthetic.spec import FIRST_SIGNUP, CorpusSpec, rounded_epoch_ms
from tollhouse.corpus.synthetic.vocabulary import LANGUAGES, Language


@dataclass(slots=True)
class Population:
    """The generated users, and what post generation needs to pick authors and mentions."""

    ids: list[int]
    usernames: list[str]
    languages: list[int]  # index into LANGUAGES
    activity: list[float]  # Zipf weight: expected share of posts
    engagement: list[float]  # scale of likes a post by this user gets
    followers: list[int]
    rows: list[tuple[Any, ...]]  # user rows, USER_COLUMNS order; username filled in late

    def rename(self, index: int, username: str) -> None:
        self.usernames[index] = username
        row = self.rows[index]
        self.rows[index] = (row[0], username, username.lower(), *row[3:])


def build_population(spec: CorpusSpec, encoding: RowEncoding) -> Population:
    """The users of the corpus, deterministic in the spec."""
    rng = random.Random(f"tollhouse-users:{spec.seed}")
    r = rng.random
    worker = spec.seed & 0x3FF
    lang_cum = list(accumulate(lang.share for lang in LANGUAGES))
    first_ms = rounded_epoch_ms(FIRST_SIGNUP)
    signup_span = rounded_epoch_ms(spec.start - timedelta(days=1)) - first_ms
    ranks = list(range(1, spec.users + 1))
    rng.shuffle(ranks)
    total_activity = sum(1.0 / k for k in ranks) or 1.0
    pop = Population([], [], [], [], [], [], [])
    taken_names: set[str] = set()
    taken_ids: set[int] = set()
    verified_ranks = max(1, spec.users // 100)
    for i, rank in enumerate(ranks):
        li = min(bisect.bisect(lang_cum, r() * lang_cum[-1]), len(LANGUAGES) - 1)
        lang = LANGUAGES[li]
        created_ms = first_ms + int(r() * signup_span)
        user_id = ((created_ms - X_EPOCH_MS) << 22) | (worker << 12) | (i & 0xFFF)
        while user_id in taken_ids:  # same millisecond and sequence: move a millisecond on
            created_ms += 1
            user_id = ((created_ms - X_EPOCH_MS) << 22) | (worker << 12) | (i & 0xFFF)
        taken_ids.add(user_id)
        username = _username(rng, lang, taken_names)
        activity = 1.0 / rank
        followers = int((spec.users / rank) ** 0.8 * rng.lognormvariate(3.0, 1.2))
        verified = (rank <= verified_ranks and r() < 0.6) or r() < 0.004
        protected = not verified and r() < 0.02
        expected_posts = spec.posts * activity / total_activity
        given, family = rng.choice(lang.given_names), rng.choice(lang.family_names)
        name = f"{family}{given}" if lang.code == "ja" else f"{given} {family}"
        description = _sentence(rng, lang, 4 + int(r() * 10)) if r() < 0.8 else ""
        location = rng.choice(lang.cities) if r() < 0.65 else None
        url = f"https://{username.lower()}.example.com" if r() < 0.15 else None
        image = (
            f"https://pbs.twimg.com/profile_images/{user_id >> 22}/"
            f"{rng.getrandbits(40):010x}_normal.jpg"
        )
        pop.ids.append(user_id)
        pop.usernames.append(username)
        pop.languages.append(li)
        pop.activity.append(activity)
        pop.engagement.append(0.5 + (followers**0.5) / 8)
        pop.followers.append(followers)
        pop.rows.append(
            (
                user_id,
                username,
                username.lower(),
                name[:100],
                description,
                location,
                url,
                image,
                encoding.time(created_ms),
                verified,
                protected,
                followers,
                int(rng.lognormvariate(5.0, 1.1)),
                int(expected_posts + rng.lognormvariate(6.0, 1.5)),
                int(followers * r() * 0.02),
                ContentState.ACTIVE.value,
                None,
                encoding.json(None),
            )
        )
    return pop


def _username(rng: random.Random, lang: Language, taken: set[str]) -> str:
    first, second = rng.choice(lang.handles), rng.choice(lang.handles)
    shape = rng.random()
    if shape < 0.3:
        base = f"{first}{second}"
    elif shape < 0.55:
        base = f"{first}_{second}"
    elif shape < 0.85:
        base = f"{first}{rng.randrange(1, 10_000)}"
    else:
        base = f"{first.capitalize()}{second.capitalize()}"
    name = base[:15]
    while name.lower() in taken:
        name = f"{base[:10]}{rng.randrange(100_000)}"
    taken.add(name.lower())
    return name


def _sentence(rng: random.Random, lang: Language, n: int) -> str:
    words = rng.choices(lang.words, k=n)
    if not lang.spaced:
        return "".join(words) + "。"
    text = " ".join(words)
    return text[:1].upper() + text[1:] + rng.choice(lang.endings)


def avoid_taken_usernames(engine: Engine, pop: Population) -> int:
    """Rename generated users whose username another user in the database already has (a
    corpus generated earlier with another seed); returns how many were renamed."""
    by_name = {name.lower(): i for i, name in enumerate(pop.usernames)}
    with engine.connect() as conn:
        if conn.execute(select(users_table.c.id).limit(1)).first() is None:
            return 0
        clashes: list[int] = []
        names = list(by_name)
        for k in range(0, len(names), 500):
            stmt = select(users_table.c.username_lower, users_table.c.id).where(
                users_table.c.username_lower.in_(names[k : k + 500])
            )
            for lower, user_id in conn.execute(stmt):
                index = by_name[lower]
                if pop.ids[index] != user_id:  # same id: the same user from an identical run
                    clashes.append(index)
        for index in clashes:
            base = pop.usernames[index][:9]
            suffix = 0
            while True:
                candidate = f"{base}_{pop.ids[index] % 99991 + suffix}"
                suffix += 1
                if candidate.lower() in by_name:
                    continue
                taken = conn.execute(
                    select(users_table.c.id).where(
                        users_table.c.username_lower == candidate.lower()
                    )
                ).first()
                if taken is None:
                    break
            del by_name[pop.usernames[index].lower()]
            by_name[candidate.lower()] = index
            pop.rename(index, candidate)
    return len(clashes)
