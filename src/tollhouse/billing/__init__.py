"""Billing: what a plan *costs* and what an organisation owes.

Owns effective-dated prices and their charge models, subscriptions over time (plan history with
exact instants), rating runs (cumulative rating minus what is booked), invoices and their
numbers, credit notes, payments, credit grants, back-billing for an audit, and the invoice's
renderings. Does not own what a plan *allows* (access), how usage is counted (metering) or how
a refusal is enforced at the edge (limits): it reads usage through `UsageSource` and feeds the
edge's prepaid balance through `BalanceSink`.
"""
