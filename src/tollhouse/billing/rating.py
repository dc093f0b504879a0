"""Rating one billing period: plan segments, prices in force, usage → cumulative lines.

The period is cut at every plan change and every price change inside it. The first plan's fee
is charged for the whole period (in advance); an upgrade at `t` credits the old fee's unused
part and charges the new fee's remainder, both to the second. Usage in each segment is rated
at that segment's price; included posts and tiered overage count cumulatively from the period
start, so a plan change carries what was already used across it. A line's key names its
component, plan, segment and tier, so a later run re-rates to the same keys (deltas.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tollhouse.billing.deltas import RatedLine
from tollhouse.billing.periods import Period
from tollhouse.billing.prices import PriceBook, PriceVersion
from tollhouse.billing.proration import remaining_fraction
from tollhouse.billing.usage import UsageReading

D0 = Decimal(0)


@dataclass(frozen=True, slots=True)
class PlanSegment:
    start: datetime
    end: datetime
    plan: str


@dataclass(frozen=True, slots=True)
class RatedPeriod:
    period: Period
    currency: str
    lines: tuple[RatedLine, ...]
    readings: tuple[UsageReading, ...]
    prices: tuple[PriceVersion, ...]
    segments: tuple[PlanSegment, ...]

    def usage_state(self) -> dict[str, Any]:
        return {
            "period_end": self.period.end.isoformat(),
            "posts": sum(r.posts for r in self.readings),
            "readings": [r.to_dict() for r in self.readings],
        }


def _iso(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%SZ")


def segments_in(period: Period, history: Sequence[tuple[datetime, str]]) -> list[PlanSegment]:
    """The plan in force over each part of `period`, from `(effective_at, plan)` sorted by
    instant. Before the first entry the first plan applies."""
    if not history:
        return []
    plan = history[0][1]
    for at, p in history:
        if at <= period.start:
            plan = p
    out: list[PlanSegment] = []
    cursor = period.start
    for at, p in history:
        if period.start < at < period.end and p != plan:
            out.append(PlanSegment(cursor, at, plan))
            cursor, plan = at, p
    out.append(PlanSegment(cursor, period.end, plan))
    return out


def rate_period(
    period: Period,
    segments: Sequence[PlanSegment],
    book: PriceBook,
    read: Callable[[datetime, datetime], UsageReading],
) -> RatedPeriod:
    """Every cumulative line of `period`."""
    lines: list[RatedLine] = []
    readings: list[UsageReading] = []
    used: list[PriceVersion] = []
    p0 = _iso(period.start)
    first = book.in_force(segments[0].plan, segments[0].start)
    currency = first.currency
    posts_so_far = 0
    previous: PriceVersion | None = None
    for index, seg in enumerate(segments):
        fee_price = book.in_force(seg.plan, seg.start)
        if index == 0:
            if fee_price.monthly_fee:
                lines.append(
                    RatedLine(
                        f"fee:{seg.plan}:{p0}", f"{seg.plan} monthly fee (in advance)",
                        Decimal(1), fee_price.monthly_fee, fee_price.monthly_fee,
                    )
                )  # fmt: skip
        else:
            assert previous is not None
            fraction = remaining_fraction(period, seg.start)
            t = _iso(seg.start)
            if previous.monthly_fee:
                lines.append(
                    RatedLine(
                        f"fee-credit:{previous.plan}:{t}",
                        f"unused {previous.plan} fee from {seg.start.isoformat()}",
                        fraction, -previous.monthly_fee, -previous.monthly_fee * fraction,
                    )
                )  # fmt: skip
            if fee_price.monthly_fee:
                lines.append(
                    RatedLine(
                        f"fee:{seg.plan}:{t}",
                        f"{seg.plan} monthly fee from {seg.start.isoformat()} (prorated)",
                        fraction, fee_price.monthly_fee, fee_price.monthly_fee * fraction,
                    )
                )  # fmt: skip
        previous = fee_price
        # Price versions may change inside a plan segment: rate each piece at its own price.
        cuts = [seg.start, *book.changes_within(seg.plan, seg.start, seg.end), seg.end]
        for a, b in itertools.pairwise(cuts):
            price = book.in_force(seg.plan, a)
            if price not in used:
                used.append(price)
            usage = read(a, b)
            readings.append(usage)
            lines.extend(_usage_lines(price, usage, posts_so_far, _iso(a)))
            posts_so_far += usage.posts
        if any(r.stream_requests for r in readings) and fee_price.stream_fee:
            key = f"stream:{seg.plan}:{p0}"
            if all(line.key != key for line in lines):
                lines.append(
                    RatedLine(key, f"{seg.plan} stream access fee", Decimal(1),
                              fee_price.stream_fee, fee_price.stream_fee)
                )  # fmt: skip
    commitment = book.in_force(segments[-1].plan, segments[-1].start).minimum_commitment
    if commitment:
        subtotal = sum((line.precise for line in lines), D0)
        if subtotal < commitment:
            lines.append(
                RatedLine(
                    f"true-up:{p0}", f"minimum commitment true-up to {commitment}",
                    Decimal(1), commitment - subtotal, commitment - subtotal,
                )
            )  # fmt: skip
    return RatedPeriod(
        period, currency, tuple(lines), tuple(readings), tuple(used), tuple(segments)
    )


def _usage_lines(
    price: PriceVersion, usage: UsageReading, posts_before: int, at: str
) -> list[RatedLine]:
    out: list[RatedLine] = []
    plan = price.plan
    if price.post_read is not None and usage.posts:
        out.append(
            RatedLine(f"post-reads:{plan}:{at}", f"{plan} post reads (once per post per UTC day)",
                      Decimal(usage.posts), price.post_read, price.post_read * usage.posts)
        )  # fmt: skip
    if price.user_read is not None and usage.user_reads:
        out.append(
            RatedLine(f"user-reads:{plan}:{at}", f"{plan} user reads", Decimal(usage.user_reads),
                      price.user_read, price.user_read * usage.user_reads)
        )  # fmt: skip
    if price.overage is not None:
        inc = price.included_posts
        over0 = Decimal(max(0, posts_before - inc))
        over1 = Decimal(max(0, posts_before + usage.posts - inc))
        before = {p.key: p for p in price.overage.parts(over0)}
        for part in price.overage.parts(over1):
            was = before.get(part.key)
            quantity = part.quantity - (was.quantity if was else D0)
            amount = part.amount - (was.amount if was else D0)
            if quantity == 0 and amount == 0:
                continue
            per = f" per {part.per:,}" if part.per != 1 else ""
            out.append(
                RatedLine(
                    f"overage:{plan}:{at}:{part.key}",
                    f"{plan} posts over {inc:,} included ({part.key}, {part.unit_price}{per})",
                    quantity, part.unit_price / part.per, amount,
                )
            )  # fmt: skip
    for endpoint, unit in sorted(price.per_request.items()):
        n = usage.requests.get(endpoint, 0)
        if n:
            out.append(
                RatedLine(f"requests:{plan}:{at}:{endpoint}", f"{plan} requests to {endpoint}",
                          Decimal(n), unit, unit * n)
            )  # fmt: skip
    return out
