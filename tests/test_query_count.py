"""A page of the home timeline costs a constant number of Neo4j queries, whatever its size.

The counter sits at the driver: every Bolt RUN message the driver sends is logged by it at
DEBUG level, and counted here.
"""

from tests.conftest import Account, Api, RunCounter

TIMELINE = """
query($first: Int) {
  homeTimeline(first: $first) {
    edges { cursor node {
      id text createdAt likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted hashtags
      author { handle displayName followerCount viewerFollows followsViewer }
      mentions { handle viewerFollows }
      inReplyTo { id author { handle } }
      retweetOf { id text likeCount viewerHasLiked author { handle viewerFollows } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def queries_for_page(api: Api, counter: RunCounter, viewer: Account, first: int) -> int:
    """Queries for one read of the page; records missing from the Redis cache add one batched query."""
    counter.runs = 0
    edges = api.data(TIMELINE, {"first": first}, viewer.token)["homeTimeline"]["edges"]
    assert len(edges) == first
    return counter.runs


def test_timeline_page_costs_a_constant_number_of_queries(api: Api, bolt_runs: RunCounter) -> None:
    viewer = api.sign_up()
    authors = [api.sign_up() for _ in range(5)]
    for author in authors:
        api.follow(viewer, author)
    for round_ in range(5):
        for author in authors:
            tweet = api.tweet(author, f"round {round_} #chirp @{viewer.handle} @{authors[0].handle}")
            if round_ % 2:
                api.data("mutation($id: ID!) { like(tweetId: $id) { id } }", {"id": tweet}, viewer.token)
            else:
                api.tweet(author, f"reply {round_}", inReplyToId=tweet)
    original = api.tweet(api.sign_up(), "retweeted by a followee")
    api.data("mutation($id: ID!) { retweet(tweetId: $id) { id } }", {"id": original}, authors[1].token)

    queries_for_page(api, bolt_runs, viewer, 1)  # the first read builds the cached timeline
    cold = queries_for_page(api, bolt_runs, viewer, 20)  # most records are not cached yet
    queries_for_page(api, bolt_runs, viewer, 5)
    small = queries_for_page(api, bolt_runs, viewer, 5)
    large = queries_for_page(api, bolt_runs, viewer, 20)
    assert small > 0
    assert large == small, (small, large)
    assert cold <= 10, cold
