"""`tollhouse-verify check …`: the check as a command; exit 0 only when nothing failed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tollhouse_verify.check import check
from tollhouse_verify.errors import VerifyError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tollhouse-verify", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check your usage log against your own records")
    c.add_argument("--base", required=True, help="the API's base URL")
    c.add_argument("--token", required=True, help="your bearer token")
    c.add_argument("--key", required=True, help="the log's verifier key (name+hash+key)")
    c.add_argument("--own", required=True, help="your records (JSONL, as the hook writes)")
    c.add_argument("--state", help="a directory that keeps the checkpoints seen")
    c.add_argument("--invoice", help="an invoice JSON: {from, to, quantities}")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        invoice = None
        if args.invoice:
            with open(args.invoice, encoding="utf-8") as f:
                invoice = json.load(f)
        report = check(args.base, args.token, args.key, args.own, args.state, invoice)
    except (VerifyError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        verdict = "OK" if report.ok else f"FAILED ({len(report.failures)})"
        print(f"{report.origin} size {report.size} root {report.root}: {verdict}")
        print(
            f"  {report.entries} entries, {report.closes} day closes, {report.own_records} "
            f"own records, {report.matched} matched, {len(report.pending)} pending, "
            f"{len(report.unanswered)} logged but unanswered"
        )
        for failure in report.failures:
            index = "" if failure.index is None else f"#{failure.index}"
            where = " ".join(x for x in (failure.request_id or "", index) if x)
            print(f"  {failure.kind}: {failure.detail}{'  ' + where if where else ''}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
