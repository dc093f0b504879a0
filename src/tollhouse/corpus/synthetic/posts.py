"""The posts of a synthetic corpus: languages and daily cycles, text with entities, threads
of replies, retweets and quotes, heavy-tailed metrics, unique time-ordered snowflake ids."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from tollhouse.corpus.ids import X_EPOCH_MS
from tollhouse.corpus.models import ContentState
from tollhouse.corpus.synthetic.bulk_rows import PostBatch, RowEncoding, clock_strings, day_prefix
from tollhouse.corpus.synthetic.spec import CorpusSpec, rounded_epoch_ms
from tollhouse.corpus.synthetic.token_pieces import Pieces, join_tokens
from tollhouse.corpus.synthetic.users import Population
from tollhouse.corpus.synthetic.vocabulary import (
    CASHTAGS,
    DAILY_CYCLE,
    EMOJI,
    LANGUAGES,
    LINK_DOMAINS,
    SOURCES,
    Language,
)

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
# What a post is, by probability, once its language has earlier posts to refer to.
P_REPLY = 0.22
P_RETWEET = 0.15
P_QUOTE = 0.08
# How many earlier posts per language can be replied to, retweeted or quoted.
_THREAD_POOL = 4096
_FRAGMENTS = 4096
_SOURCE_POOL = 1024
_ACTIVE = ContentState.ACTIVE.value
_TCO = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# ".mmm000" for each millisecond: the end of SQLAlchemy's SQLite DateTime text, looked up
# rather than formatted with a width for every post.
_FRACTIONS = [f".{ms:03d}000" for ms in range(1000)]


class PostMaker:
    """Makes the post rows of one run: holds what is drawn once per run (text fragments, tag,
    link, mention and source pools) and the pools of earlier posts that threads refer to."""

    def __init__(self, spec: CorpusSpec, pop: Population, encoding: RowEncoding) -> None:
        self._draw_text(spec, encoding)
        self.attach(pop)

    @classmethod
    def prepared(cls, spec: CorpusSpec, encoding: RowEncoding) -> PostMaker:
        """A maker with the text pools drawn but no population yet: `attach` one before use.

        Drawing the pools needs no users (≈ 0.2 s for any corpus), so it can run while another
        process builds the population; the random draws come in the same order either way.
        """
        maker = cls.__new__(cls)
        maker._draw_text(spec, encoding)
        return maker

    def _draw_text(self, spec: CorpusSpec, encoding: RowEncoding) -> None:
        self.rng = rng = random.Random(f"tollhouse-posts:{spec.seed}")
        self.encoding = encoding
        self.worker = spec.seed & 0x3FF
        # Pre-drawn text: each body joins a "lead" fragment (capitalised) and a "tail" one,
        # drawn once per run from Zipf word frequencies. 4096² combinations per language keep
        # bodies varied, and a post costs two random indexes instead of a draw per word.
        self.leads: list[list[str]] = []
        self.tails: list[list[str]] = []
        r = rng.random
        for lang in LANGUAGES:
            cum = list(accumulate(1.0 / (k + 1) ** 0.8 for k in range(len(lang.words))))
            glue = " " if lang.spaced else ""

            def fragment(
                n: int,
                lang: Language = lang,
                cum: list[float] = cum,
                total: float = cum[-1] + 0.0,
                hi: int = len(cum) - 1,
            ) -> str:
                # = rng.choices(lang.words, cum_weights=cum, k=n), the same draws inlined
                # (65 k fragments per run, on the path before the first post).
                words = lang.words
                picked = [words[bisect.bisect(cum, r() * total, 0, hi)] for _ in range(n)]
                if lang.spaced:
                    return " ".join(picked)
                return "".join([w + "、" if r() < 0.2 else w for w in picked])

            leads = [fragment(2 + int(9 * rng.random())) for _ in range(_FRAGMENTS)]
            self.leads.append([f[:1].upper() + f[1:] for f in leads])
            tails = [glue + fragment(1 + int(14 * rng.random())) for _ in range(_FRAGMENTS)]
            self.tails.append(["" if k % 3 == 0 else t for k, t in enumerate(tails)])
        english = LANGUAGES[0].hashtags
        self.tag_pool = [
            rng.choices(
                lang.hashtags + english,
                cum_weights=list(
                    accumulate(
                        [1.0 / (k + 1) for k in range(len(lang.hashtags))]
                        + [0.3 / (k + 1) for k in range(len(english))]
                    )
                ),
                k=2_000,
            )
            for lang in LANGUAGES
        ]
        self._pretokenise()

    def _pretokenise(self) -> None:
        """Token strings of everything a post is built from (see `corpus.token_pieces`)."""
        # A body is lead + tail + ending, one of each per language.
        self.bodies = [
            (Pieces.of(leads), Pieces.of(tails), Pieces.of(lang.endings))
            for leads, tails, lang in zip(self.leads, self.tails, LANGUAGES, strict=True)
        ]
        # Where no tail or ending starts with a letter or digit (languages written with
        # spaces), a body's token string is its three pieces' strings concatenated.
        self.seamless = [
            not any(tails.opens) and not any(endings.opens) for _, tails, endings in self.bodies
        ]
        # What `_decorate` appends: each starts with a space, so its tokens stand alone.
        self.tag_tokens = [Pieces.of([f" #{tag}" for tag in tags]).tokens for tags in self.tag_pool]
        self.cashtag_tokens = Pieces.of([f" ${tag}" for tag in CASHTAGS]).tokens
        self.emoji_tokens = Pieces.of([" " + emoji for emoji in EMOJI]).tokens

    def attach(self, pop: Population) -> None:
        """Draw what depends on the users (after the text pools: the draw order is fixed)."""
        rng = self.rng
        self.pop = pop
        n_lang = len(LANGUAGES)
        members: list[list[int]] = [[] for _ in range(n_lang)]
        for index, li in enumerate(pop.languages):
            members[li].append(index)
        self.members = members
        self.id_strings = [str(user_id) for user_id in pop.ids]  # as X writes ids in entities
        self.member_cum = [list(accumulate(pop.activity[i] for i in m)) for m in members]
        lang_activity = [c[-1] if c else 0.0 for c in self.member_cum]
        # Language weights per UTC hour: activity of its writers times the daily cycle at their
        # local hour. Choosing the language first and then the author gives both the Zipf
        # shape and the time zones.
        self.hour_cum: list[list[float]] = []
        for hour in range(24):
            weights = []
            for li, lang in enumerate(LANGUAGES):
                local = int((hour * 60 + lang.utc_offset_minutes) // 60) % 24
                weights.append(lang_activity[li] * DAILY_CYCLE[local])
            self.hour_cum.append(list(accumulate(weights)))
        everyone = list(range(len(pop.ids)))
        self.mention_pool = rng.choices(everyone, weights=pop.activity, k=8_192) if everyone else []
        self.source_pool = rng.choices(SOURCES, weights=(40, 35, 15, 4, 3, 2, 1), k=_SOURCE_POOL)
        # Earlier posts per language: (id, author, conversation, text, entities, facets,
        # sensitive, search text); a ring buffer, so memory stays flat however many posts we make.
        self.threads: list[list[tuple[Any, ...]]] = [[] for _ in range(n_lang)]
        self.thread_head = [0] * n_lang
        # Links are drawn from a per-run pool: popular links get shared, as on a real network,
        # and a post does not pay for building a random short URL.
        self.links: list[tuple[str, str]] = []
        for _ in range(_FRAGMENTS):
            short = "https://t.co/" + "".join(rng.choices(_TCO, k=10))
            domain = rng.choice(LINK_DOMAINS)
            word = rng.choice(LANGUAGES[0].words)
            self.links.append((short, f"https://{domain}/{word}/{rng.randrange(1_000_000)}"))
        self.link_tokens = Pieces.of([" " + short for short, _ in self.links]).tokens
        # "@name " before a reply, " @name" in a mention, "RT @name: ": the name's tokens.
        self.name_tokens = Pieces.of(pop.usernames).tokens

    def batches(
        self, slots: Iterable[tuple[int, int, int]], batch_size: int, short: bool = False
    ) -> Iterator[PostBatch]:
        """Post rows (POST_COLUMNS order) for each (slot start, slot end, count), in time
        order, cut into batches. With `short` (SQLite only), rows end before the columns of
        `bulk_rows.POST_CONSTANTS`, the same in every row, for `bulk_staged.stage_batch`.

        This loop is most of the generator's time, so it keeps its state in local variables,
        inlines id assignment and timestamp encoding, and picks from pools with
        `pool[int(r() * n)]` (several times cheaper than rng.choice).
        """
        rng = self.rng
        r = rng.random
        pop = self.pop
        user_ids = pop.ids
        id_strings = self.id_strings
        bisect_right = bisect.bisect_right
        usernames = pop.usernames
        engagement = pop.engagement
        followers = pop.followers
        members = self.members
        member_cum = self.member_cum
        hour_cum = self.hour_cum
        leads, tails = self.leads, self.tails
        bodies, seamless = self.bodies, self.seamless
        lead_tokens = [lead.tokens for lead, _, _ in bodies]
        tail_tokens = [tail.tokens for _, tail, _ in bodies]
        ending_tokens = [ending.tokens for _, _, ending in bodies]
        name_tokens = self.name_tokens
        threads, thread_head = self.threads, self.thread_head
        source_pool = self.source_pool
        decorate = self._decorate
        retweet = self._retweet
        encoding = self.encoding
        json_null = encoding.json(None)
        as_text = not (encoding.postgres or encoding.native)
        tokens_as_array = encoding.postgres
        tokens_null = encoding.tokens([])
        if short and (encoding.postgres or encoding.native):
            raise ValueError("short rows are for SQLite's encoding")
        # What the full rows end with on SQLite (PostgreSQL's tokens differ per row).
        constant_tail = (tokens_null, _ACTIVE, None, json_null)
        clock = clock_strings()
        fractions = _FRACTIONS
        worker_bits = (self.worker & 0x3FF) << 12
        n_lang = len(LANGUAGES)
        codes = [lang.code for lang in LANGUAGES]
        endings = [lang.endings for lang in LANGUAGES]
        last_ms = -1
        sequence = 0
        day_start = day_end = 0
        prefix = ""
        rows: list[tuple[Any, ...]] = []
        facets_out: list[tuple[str, str, int]] = []
        for slot_start, slot_end, count in slots:
            span = slot_end - slot_start
            cum_by_lang = hour_cum[(slot_start // _HOUR_MS) % 24]
            total = cum_by_lang[-1]
            for ms in sorted([slot_start + int(r() * span) for _ in range(count)]):
                # A unique, time-ordered snowflake: same millisecond → next sequence number.
                if ms <= last_ms:
                    ms = last_ms
                    sequence += 1
                    if sequence > 0xFFF:
                        ms += 1
                        sequence = 0
                else:
                    sequence = 0
                last_ms = ms
                post_id = ((ms - X_EPOCH_MS) << 22) | worker_bits | sequence
                if as_text:
                    if ms >= day_end:
                        day_start = ms - ms % _DAY_MS
                        day_end = day_start + _DAY_MS
                        prefix = day_prefix(day_start // _DAY_MS)
                    of_day = ms - day_start
                    created: Any = f"{prefix}{clock[of_day // 1000]}{fractions[of_day % 1000]}"
                else:
                    created = encoding.time(ms)

                li = bisect_right(cum_by_lang, r() * total)
                if li >= n_lang:
                    li = n_lang - 1
                cum = member_cum[li]
                pick = bisect_right(cum, r() * cum[-1])
                author = members[li][pick if pick < len(cum) else len(cum) - 1]
                earlier = threads[li]
                kind = r()
                if earlier and kind < P_RETWEET:
                    row: tuple[Any, ...] = retweet(post_id, created, author, li, facets_out)
                    if not short:
                        row += (
                            (row[-1].split(), *constant_tail[1:])
                            if tokens_as_array
                            else constant_tail
                        )
                    rows.append(row)
                    if len(rows) >= batch_size:
                        yield PostBatch(posts=rows, facets=facets_out, users=[])
                        rows, facets_out = [], []
                    continue
                reply_to: tuple[Any, ...] | None = None
                quoted: tuple[Any, ...] | None = None
                if earlier and kind < P_RETWEET + P_REPLY + P_QUOTE:
                    # Squared uniform: recent posts are referenced more often than old ones.
                    n = len(earlier)
                    ref = earlier[(thread_head[li] - 1 - int(n * r() ** 2)) % n]
                    if kind < P_RETWEET + P_REPLY:
                        reply_to = ref
                    else:
                        quoted = ref

                ends = endings[li]
                lead_k = int(r() * _FRAGMENTS)
                tail_k = int(r() * _FRAGMENTS)
                end_k = int(r() * len(ends))
                body = leads[li][lead_k] + tails[li][tail_k] + ends[end_k]
                if seamless[li]:
                    tokens = lead_tokens[li][lead_k] + tail_tokens[li][tail_k]
                    tokens += ending_tokens[li][end_k]
                else:
                    tokens = join_tokens(bodies[li], (lead_k, tail_k, end_k))
                entities: dict[str, Any] | None = None
                facets: list[tuple[str, str]] = []
                if reply_to is None:
                    text = body
                    conversation = post_id
                    reply_user = replied = None
                else:
                    target = reply_to[1]
                    name = usernames[target]
                    text = f"@{name} {body}"
                    tokens = name_tokens[target] + tokens
                    reply_user = user_ids[target]
                    entities = {
                        "mentions": [
                            {
                                "start": 0,
                                "end": 1 + len(name),
                                "username": name,
                                "id": id_strings[target],
                            }
                        ]
                    }
                    facets.append(("m", name.lower()))
                    conversation = reply_to[2]
                    replied = reply_to[0]
                has_mentions = reply_to is not None
                has_hashtags = has_links = False
                if r() < 0.5:  # half the posts carry entities or emoji beyond a reply mention
                    text, entities, has_mentions, has_hashtags, has_links, more = decorate(
                        text, entities, facets, li
                    )
                    tokens += more
                sensitive = r() < 0.015
                searched = tokens + " "  # = search_text(tokenize(text))
                # Remember the post for later replies, quotes and retweets (ring buffer).
                head = thread_head[li]
                entry = (post_id, author, conversation, text, entities, facets, sensitive, searched)
                if len(earlier) < _THREAD_POOL:
                    earlier.append(entry)
                else:
                    earlier[head] = entry
                thread_head[li] = (head + 1) % _THREAD_POOL
                if len(facets) == 1:
                    facets_out.append((facets[0][0], facets[0][1][:512], post_id))
                elif facets:
                    for kind_value in dict.fromkeys(facets):
                        facets_out.append((kind_value[0], kind_value[1][:512], post_id))

                likes = int(engagement[author] * ((1.0 - r()) ** -0.77 - 1.0))  # Pareto 1.3
                retweets = int(likes * r() * 0.35)
                row = (
                    post_id,
                    user_ids[author],
                    text,
                    created,
                    codes[li],
                    conversation,
                    reply_user,
                    replied,
                    None,
                    quoted[0] if quoted is not None else None,
                    json_null if entities is None else encoding.json(entities),
                    retweets,
                    int(likes * r() * 0.15),
                    likes,
                    int(retweets * r() * 0.3),
                    int(likes * r() * 0.08),
                    int((likes + 1) * (30 + 70 * r()) + followers[author] * 0.1 * r()),
                    sensitive,
                    source_pool[int(r() * _SOURCE_POOL)],
                    has_links,
                    has_mentions,
                    has_hashtags,
                    searched,
                )
                if not short:
                    row += (
                        (searched.split(), *constant_tail[1:]) if tokens_as_array else constant_tail
                    )
                rows.append(row)
                if len(rows) >= batch_size:
                    yield PostBatch(posts=rows, facets=facets_out, users=[])
                    rows, facets_out = [], []
        if rows:
            yield PostBatch(posts=rows, facets=facets_out, users=[])

    def _decorate(
        self,
        text: str,
        entities: dict[str, Any] | None,
        facets: list[tuple[str, str]],
        li: int,
    ) -> tuple[str, dict[str, Any] | None, bool, bool, bool, str]:
        """Append mentions, an emoji, hashtags, a cashtag and a link, with their entities;
        the last item is the token string of what was appended."""
        r = self.rng.random
        pop = self.pop
        parts = [text]
        tokens = ""
        pos = len(text)
        mentions: list[dict[str, Any]] = entities["mentions"] if entities else []
        hashtags: list[dict[str, Any]] = []
        cashtags: list[dict[str, Any]] = []
        urls: list[dict[str, Any]] = []
        if r() < 0.36 and self.mention_pool:
            for _ in range(1 + (r() < 0.25)):
                target = self.mention_pool[int(r() * len(self.mention_pool))]
                name = pop.usernames[target]
                parts.append(f" @{name}")
                tokens += self.name_tokens[target]
                mentions.append(
                    {
                        "start": pos + 1,
                        "end": pos + 2 + len(name),
                        "username": name,
                        "id": self.id_strings[target],
                    }
                )
                facets.append(("m", name.lower()))
                pos += 2 + len(name)
        if r() < 0.08:
            k = int(r() * len(EMOJI))
            emoji = " " + EMOJI[k]
            parts.append(emoji)
            tokens += self.emoji_tokens[k]
            pos += len(emoji)
        if r() < 0.6:
            tags = self.tag_pool[li]
            tag_tokens = self.tag_tokens[li]
            for _ in range(1 + int(2.5 * r() ** 2)):
                k = int(r() * len(tags))
                tag = tags[k]
                parts.append(f" #{tag}")
                tokens += tag_tokens[k]
                hashtags.append({"start": pos + 1, "end": pos + 2 + len(tag), "tag": tag})
                facets.append(("h", tag.lower()))
                pos += 2 + len(tag)
        if li == 0 and r() < 0.06:
            k = int(r() * len(CASHTAGS))
            tag = CASHTAGS[k]
            parts.append(f" ${tag}")
            tokens += self.cashtag_tokens[k]
            cashtags.append({"start": pos + 1, "end": pos + 2 + len(tag), "tag": tag})
            facets.append(("c", tag.lower()))
            pos += 2 + len(tag)
        if r() < 0.28:
            k = int(r() * r() * _FRAGMENTS)  # skewed: some links go viral
            short, expanded = self.links[k]
            parts.append(" " + short)
            tokens += self.link_tokens[k]
            urls.append(
                {
                    "start": pos + 1,
                    "end": pos + 1 + len(short),
                    "url": short,
                    "expanded_url": expanded,
                    "display_url": expanded[8:],
                }
            )
            facets.append(("u", expanded.lower()))
        if mentions or hashtags or cashtags or urls:
            entities = {}
            if mentions:
                entities["mentions"] = mentions
            if hashtags:
                entities["hashtags"] = hashtags
            if cashtags:
                entities["cashtags"] = cashtags
            if urls:
                entities["urls"] = urls
        return "".join(parts), entities, bool(mentions), bool(hashtags), bool(urls), tokens

    def _retweet(
        self, post_id: int, created: Any, author: int, li: int, out: list[tuple[str, str, int]]
    ) -> tuple[Any, ...]:
        """A retweet of an earlier post in language `li`: "RT @author: <its text>", its row
        up to `search_text` (the caller adds the columns after it)."""
        pool = self.threads[li]
        n = len(pool)
        original = pool[(self.thread_head[li] - 1 - int(n * self.rng.random() ** 2)) % n]
        orig_id, orig_author, _, orig_text, orig_entities, orig_facets, sensitive, orig_search = (
            original
        )
        pop = self.pop
        name = pop.usernames[orig_author]
        prefix = f"RT @{name}: "
        text = prefix + orig_text
        shift = len(prefix)
        entities: dict[str, Any] = {
            "mentions": [
                {
                    "start": 3,
                    "end": 4 + len(name),
                    "username": name,
                    "id": self.id_strings[orig_author],
                }
            ]
        }
        if orig_entities:
            for key, items in orig_entities.items():
                shifted = [
                    {**e, "start": e["start"] + shift, "end": e["end"] + shift} for e in items
                ]
                entities[key] = entities.get(key, []) + shifted
        facets = [("m", name.lower()), *orig_facets]
        for kind_value in dict.fromkeys(facets):
            out.append((kind_value[0], kind_value[1][:512], post_id))
        # The prefix ends in a space, so the tokens of the whole text are the prefix's ("rt"
        # and the name's) followed by the original's.
        searched = " rt" + self.name_tokens[orig_author] + orig_search
        r = self.rng.random
        encoding = self.encoding
        return (
            post_id,
            pop.ids[author],
            text,
            created,
            LANGUAGES[li].code,
            post_id,
            None,
            None,
            orig_id,
            None,
            encoding.json(entities),
            0,
            0,
            0,
            0,
            0,
            int(pop.followers[author] * 0.1 * r()),
            sensitive,
            self.source_pool[int(r() * _SOURCE_POOL)],
            "urls" in entities,
            True,
            "hashtags" in entities,
            searched,
        )


def hourly_counts(spec: CorpusSpec, maker: PostMaker) -> Iterator[tuple[int, int, int]]:
    """(slot start ms, slot end ms, posts in it) for each UTC hour of the window, in order.

    Counts follow the languages' daily cycles and a random factor per day; cumulative
    rounding makes them sum to exactly `spec.posts`.
    """
    rng = random.Random(f"tollhouse-days:{spec.seed}")
    start_ms, end_ms = rounded_epoch_ms(spec.start), rounded_epoch_ms(spec.end)
    slots: list[tuple[int, int, float]] = []
    day_factor: dict[int, float] = {}
    cursor = start_ms
    while cursor < end_ms:
        slot_end = min((cursor // _HOUR_MS + 1) * _HOUR_MS, end_ms)
        day = cursor // _DAY_MS
        if day not in day_factor:
            day_factor[day] = rng.uniform(0.8, 1.2)
        hour = (cursor // _HOUR_MS) % 24
        weight = maker.hour_cum[hour][-1] * day_factor[day] * (slot_end - cursor) / _HOUR_MS
        slots.append((cursor, slot_end, weight))
        cursor = slot_end
    total = sum(w for _, _, w in slots) or 1.0
    running = 0.0
    assigned = 0
    for slot_start, slot_end, weight in slots:
        running += weight
        upto = round(spec.posts * running / total)
        yield slot_start, slot_end, upto - assigned
        assigned = upto
