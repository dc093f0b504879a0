"""Compliance: enforcing the developer agreement from the platform's own records.

Owns content events (every change of a post's or user's state), X's batch compliance jobs, the
notices each licensee got, deletion obligations with their deadlines, holdings (what an
organisation received and what of it has since been removed), and rules → findings with evidence
(`compliance.findings`).

Does not own what was delivered (metering's usage records and delivery ledger, read here), the
posts themselves (corpus, whose served state the content events keep consistent), the agreement
text (access) or how findings are rendered (reports).
"""
