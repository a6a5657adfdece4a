"""What each viewer liked and retweeted lately, cached so that a page's viewerHasLiked and
viewerHasRetweeted cost one HMGET instead of a Neo4j query.

One hash per viewer: field "since" is the smallest tweet id the hash is complete for; every other
field is a subject tweet id, its value the viewer's flag bits on it. A like, unlike, retweet or
undo drops the hash once its Neo4j commit is relayed (dropped, not patched: the relay may come
late, after a newer act). A missing hash is filled from Neo4j under a lease: dropping the hash drops
the lease, and the filler writes only while it still holds it, so a fill that read Neo4j just
before a like can never hide that like.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from feeds import leases
from feeds.keys import Keys

LIKED = 1
RETWEETED = 2

COMPLETE_FILL = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
for i = 3, #ARGV, 2000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 1999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Acts:
    """A viewer's flag bits on subjects, complete for every subject id at or above `since`."""

    since: int
    bits: dict[int, int]

    def covers(self, subject_id: int) -> bool:
        return subject_id >= self.since

    def flags(self, subject_id: int) -> tuple[bool, bool]:
        """(liked, retweeted)."""
        bits = self.bits.get(subject_id, 0)
        return bool(bits & LIKED), bool(bits & RETWEETED)


async def read(redis: Redis, keys: Keys, viewer_id: int, subject_ids: Sequence[int]) -> Acts | None:
    """The viewer's bits on these subjects; None when nothing is cached for the viewer."""
    values = await redis.hmget(keys.viewer_acts(viewer_id), ["since", *subject_ids])
    if values[0] is None:
        return None
    return Acts(
        since=int(values[0]),
        bits={subject: int(value) for subject, value in zip(subject_ids, values[1:], strict=True) if value is not None},
    )


async def begin_fill(redis: Redis, keys: Keys, viewer_id: int) -> str:
    """Takes the fill lease; call before reading Neo4j."""
    return await leases.take(redis, [keys.viewer_acts_fill(viewer_id)])


async def complete_fill(redis: Redis, keys: Keys, viewer_id: int, token: str, acts: Acts, ttl_seconds: int) -> bool:
    """Stores what was read from Neo4j, unless an act of the viewer landed since begin_fill."""
    fields: list[str | int] = ["since", acts.since]
    for subject, bits in acts.bits.items():
        fields += [subject, bits]
    script = redis.register_script(COMPLETE_FILL)
    stored: int = await script(
        keys=[keys.viewer_acts(viewer_id), keys.viewer_acts_fill(viewer_id)], args=[token, ttl_seconds, *fields]
    )
    return stored == 1


async def forget(redis: Redis, keys: Keys, viewer_ids: Sequence[int]) -> None:
    """After an act of each of these viewers committed: their hashes go, and any fill under way."""
    async with redis.pipeline(transaction=False) as pipe:
        for viewer in viewer_ids:
            pipe.delete(keys.viewer_acts(viewer), keys.viewer_acts_fill(viewer))
        await pipe.execute()
