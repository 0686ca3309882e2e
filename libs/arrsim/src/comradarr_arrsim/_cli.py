"""``comradarr arrsim ...``: run one simulator standalone on uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

import uvicorn
from comradarr_logging import configure_logging

from comradarr_arrsim._flavors import Flavor
from comradarr_arrsim._library import DEFAULT_REFERENCE, LibrarySpec
from comradarr_arrsim._sim import Behaviour, Simulator

API_KEY_ENV = "COMRADARR_ARRSIM_API_KEY"
_ALIASES = {
    "sonarr": Flavor.SONARR_V3,
    "radarr": Flavor.RADARR_V3,
    "whisparr": Flavor.WHISPARR_V2,
    "prowlarr": Flavor.PROWLARR_V1,
}


def reference_time(value: str) -> float:
    """The library's reference instant: ``now`` (the host's clock), ``fixed`` (the tests'
    2025-06-01) or an ISO 8601 date-time (UTC when it names no zone)."""
    if value == "now":
        return time.time()
    if value == "fixed":
        return DEFAULT_REFERENCE
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not 'now', 'fixed' or an ISO 8601 date-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="comradarr arrsim", description="run a simulated *arr app")
    types = sorted(set(_ALIASES) | {f.value for f in Flavor})
    p.add_argument("--type", required=True, choices=types, help="app (and API version)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8989)
    p.add_argument("--api-key", default=None, help=f"API key (or the {API_KEY_ENV} variable)")
    p.add_argument("--url-base", default="", help="URL base path, e.g. /sonarr")
    p.add_argument("--app-version", default=None, help="version to report in system/status")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--series", type=int, default=20)
    p.add_argument("--seasons", type=int, default=3)
    p.add_argument("--episodes-per-season", type=int, default=10)
    p.add_argument("--movies", type=int, default=50)
    p.add_argument("--missing-share", type=float, default=0.2)
    p.add_argument("--cutoff-share", type=float, default=0.15)
    p.add_argument("--airing-seasons", type=int, default=2)
    p.add_argument("--unmonitored-share", type=float, default=0.1)
    p.add_argument("--specials", type=int, default=1)
    p.add_argument("--indexers", type=int, default=6)
    p.add_argument(
        "--reference-time",
        type=reference_time,
        default="now",
        help="the instant the library is generated around and the clock starts at: 'now'"
        " (default: the host's wall clock), 'fixed' (2025-06-01, as the tests use) or an"
        " ISO 8601 date-time",
    )
    p.add_argument("--find-probability", type=float, default=0.5)
    p.add_argument("--command-duration", type=float, default=0.5)
    p.add_argument("--import-delay", type=float, default=1.0)
    p.add_argument("--prewarm", action="store_true", help="serialize every record before serving")
    p.add_argument("--ssl-certfile", default=None)
    p.add_argument("--ssl-keyfile", default=None)
    return p


def build(argv: list[str]) -> tuple[Simulator, argparse.Namespace]:
    """Parse ``argv`` and build the simulator it describes."""
    args = _parser().parse_args(argv)
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        raise SystemExit(f"no API key: use --api-key or {API_KEY_ENV}")
    flavor = _ALIASES.get(args.type) or Flavor(args.type)
    spec = LibrarySpec(
        seed=args.seed,
        series=args.series,
        seasons=args.seasons,
        episodes_per_season=args.episodes_per_season,
        movies=args.movies,
        missing_share=args.missing_share,
        cutoff_share=args.cutoff_share,
        airing_seasons=args.airing_seasons,
        unmonitored_share=args.unmonitored_share,
        specials=args.specials,
        indexers=args.indexers,
        reference_time=args.reference_time,
    )
    behaviour = Behaviour(
        find_probability=args.find_probability,
        command_duration=args.command_duration,
        import_delay=args.import_delay,
    )
    sim = Simulator(
        flavor=flavor,
        api_key=api_key,
        spec=spec,
        behaviour=behaviour,
        version=args.app_version,
        url_base=args.url_base,
    )
    return sim, args


def main(argv: list[str]) -> int:
    """Run ``comradarr arrsim`` with ``argv`` (without the program name); return the exit code."""
    sim, args = build(argv)
    configure_logging(service="comradarr-arrsim", level="info", stream=sys.stderr)
    if args.prewarm:
        sim.prewarm()
    sys.stderr.write(
        f"arrsim: {sim.info.app_name} {sim.info.version} ({sim.flavor.value}) on "
        f"http://{args.host}:{args.port}{sim.url_base}\n"
    )
    uvicorn.run(
        sim.app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0
