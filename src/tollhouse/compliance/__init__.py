"""Deletion compliance: content events (every change of a post's or user's state), X's batch
compliance jobs, the notices each licensee got, obligations with their deadlines, and holdings
(what an organisation received and what of it has since been removed).

Does not own what was delivered (metering's delivery ledger, read here) nor the posts themselves
(corpus, whose served state the content events keep consistent)."""
