"""Receipts: each organisation's usage log as an RFC 6962 Merkle tree the licensee can check —
its hash tiles, signed checkpoints (C2SP signed-note, Ed25519), day-close leaves, the operator
log of day-close checkpoints, inclusion and consistency proofs.

Reads metering's usage log (leaves and their indices, written by metering in the usage event's
own transaction); metering never reads receipts. Does not own what counts as usage (metering)
nor the wire formats (the `tollhouse_verify` library, shared with the licensee's verifier).
"""
