"""`uv run python -m bench` (through scripts/bench.sh, which starts the bench's own services);
`python -m bench soak` for the soak on the data set already generated."""

import argparse
import asyncio

from bench.generate import Shape
from bench.quality import SAMPLE
from bench.soak import run_soak
from bench.suite import run_discovery, run_suite
from bench.weights import run_weights


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--users", type=int, default=Shape.users)
    parser.add_argument("--follows", type=int, default=Shape.follows)
    parser.add_argument("--tweets", type=int, default=Shape.tweets)
    parser.add_argument("--likes", type=int, default=Shape.likes)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each load phase")
    parser.add_argument("--generate-only", action="store_true", help="load the data set and stop")
    commands = parser.add_subparsers(dest="command")
    soak = commands.add_parser(
        "soak", help="steady mixed load for minutes: errors, latency, memory, backlog per minute (bench/soak.py)"
    )
    soak.add_argument("--minutes", type=float, default=10.0, help="length of the load (default 10)")
    soak.add_argument("--rate", type=float, default=30.0, help="requests per second, all kinds together")
    soak.add_argument("--subscriptions", type=int, default=200, help="open homeTimeline subscriptions")
    discovery = commands.add_parser(
        "discovery",
        help="search, trends and who-to-follow alone (quality, latency, freshness, worker cost), on the data set",
    )
    discovery.add_argument(
        "--quality-users", type=int, default=SAMPLE, help="users whose follows are hidden (default 1,000)"
    )
    discovery.add_argument(
        "--no-who-to-follow",
        action="store_true",
        help="leave whoToFollow out (quality and latency; the baselines stay), for when it is too slow to measure",
    )
    commands.add_parser(
        "weights", help="learn who-to-follow's ranking weights on held-out follows of the data set (bench/weights.py)"
    )
    args = parser.parse_args()
    if args.command == "discovery":
        asyncio.run(run_discovery(args.seconds, args.quality_users, not args.no_who_to_follow))
        return
    if args.command == "weights":
        asyncio.run(run_weights())
        return
    if args.command == "soak":
        asyncio.run(run_soak(args.minutes, args.rate, args.subscriptions))
        return
    shape = Shape(users=args.users, follows=args.follows, tweets=args.tweets, likes=args.likes)
    asyncio.run(run_suite(shape, seconds=args.seconds, generate_only=args.generate_only))


if __name__ == "__main__":
    main()
