"""Rate windows and monthly post caps, X style.

Owns: fixed, epoch-aligned request windows per app x endpoint (every window of the plan must
admit), the organisation's monthly post cap (counted after the handler, a post delivered twice to
the same organisation on the same UTC day counts once), the response headers that tell clients
when to come back, the per-app daily post counts behind `GET /2/usage/tweets`, and the two
backends (`memory://` for one process, `redis://…` for many) behind one Protocol.

Does not own: prices or overage charges (billing), the durable usage record (metering), who the
caller is or what plan it has (access).
"""
