"""``comradarr arr test ...``: test a connection from the command line, print one JSON object."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import orjson
from comradarr_logging import configure_logging

from comradarr_arr._config import AppKind, ConnectorConfig
from comradarr_arr._connection import test_connection

API_KEY_ENV = "COMRADARR_ARR_API_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comradarr arr", description="*arr client tools")
    sub = parser.add_subparsers(dest="command", required=True)
    test = sub.add_parser("test", help="test the connection to an *arr app")
    test.add_argument("--type", required=True, choices=[k.value for k in AppKind])
    test.add_argument("--url", required=True, help="base URL, URL base path included")
    test.add_argument(
        "--api-key", default=None, help=f"API key (prefer the {API_KEY_ENV} variable)"
    )
    test.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    test.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    return parser


def main(argv: list[str]) -> int:
    """Run ``comradarr arr`` with ``argv`` (without the program name); return the exit code."""
    args = _parser().parse_args(argv)
    # stdout carries exactly one JSON object: logs go to stderr, and only problems.
    configure_logging(service="comradarr-arr-cli", level="warning", stream=sys.stderr)
    api_key = args.api_key or os.environ.get(API_KEY_ENV, "")
    if not api_key:
        sys.stdout.write(
            orjson.dumps(
                {
                    "ok": False,
                    "error": "usage",
                    "message": f"no API key: use --api-key or {API_KEY_ENV}",
                }
            ).decode()
            + "\n"
        )
        return 1
    config = ConnectorConfig(
        name="cli",
        url=args.url,
        api_key=api_key,
        app=AppKind(args.type),
        verify_tls=not args.insecure,
        timeout=args.timeout,
    )
    result = asyncio.run(test_connection(config=config))
    sys.stdout.write(orjson.dumps(result.to_dict()).decode() + "\n")
    return 0 if result.ok else 1
