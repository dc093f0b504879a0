"""Billing's refusals: each a kind of the project-wide error it is (bad input, conflict, …)."""

from __future__ import annotations

from tollhouse.errors import Conflict, InvalidInput, NotFound


class InvalidAmount(InvalidInput):
    """An amount of money that is negative, not a number, a float, or in an unknown currency."""


class UnknownCurrency(InvalidAmount):
    """A currency code that is not an ISO 4217 code this book knows."""


class OverlappingPrices(InvalidInput):
    """Two price versions of one plan cover the same instant."""


class NoPriceInForce(NotFound):
    """No price version of the plan covers the instant asked about."""


class InvoiceNotFound(NotFound):
    """No invoice has that id."""


class InvalidTransition(Conflict):
    """The invoice's status does not allow the change (void a draft, pay a void invoice, …)."""


class PlanChangeBeforeFinalized(Conflict):
    """A plan change dated inside a period whose invoice is already finalized."""
