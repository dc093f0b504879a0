"""tollhouse-verify: the formats of a Tollhouse usage log and the licensee's check of it.

Owns the wire formats both sides share — RFC 6962 tree hashing and proofs (`tree`), C2SP
signed notes (`note`) and checkpoints (`checkpoint`), the tlog-tiles layout (`tiles`), tlog-proof
receipts (`proof`), the canonical usage leaves (`leaf`) — and the licensee's side: the recording
hook (`hook`) and the check (`check`, `cli`). Depends only on `cryptography` and `httpx`.

Does not own how the platform stores or serves the log (that is the server's `receipts`).
"""
