"""The Trend type: one tag of a window's ranking (feeds/trends.py says how it is counted and scored)."""

from __future__ import annotations

import strawberry

from feeds import trends


@strawberry.type
class Trend:
    tag: str = strawberry.field(description="Hashtag without the leading #, lower-cased.")
    count: int = strawberry.field(description="Uses inside the window.")
    account_count: int = strawberry.field(description="Distinct accounts that used the tag inside the window.")
    score: float = strawberry.field(description="How far above its usual rate the tag is now; the ranking key.")

    @classmethod
    def of(cls, trend: trends.Trend) -> Trend:
        return cls(tag=trend.tag, count=trend.uses, account_count=trend.accounts, score=trend.score)
