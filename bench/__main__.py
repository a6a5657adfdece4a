"""`uv run python -m bench` (through scripts/bench.sh, which starts the bench's own services)."""

import argparse
import asyncio

from bench.generate import Shape
from bench.suite import run_suite


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--users", type=int, default=Shape.users)
    parser.add_argument("--follows", type=int, default=Shape.follows)
    parser.add_argument("--tweets", type=int, default=Shape.tweets)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each load phase")
    parser.add_argument("--generate-only", action="store_true", help="load the data set and stop")
    args = parser.parse_args()
    shape = Shape(users=args.users, follows=args.follows, tweets=args.tweets)
    asyncio.run(run_suite(shape, seconds=args.seconds, generate_only=args.generate_only))


if __name__ == "__main__":
    main()
