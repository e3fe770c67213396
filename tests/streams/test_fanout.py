"""A batch's re-keyed messages to the group detectors stay small enough to send.

One message per peer group (or complaint category) per batch used to carry all
the batch's rows: a full batch with long ids passes the 1,000,000 bytes the
worker's producer sends, and the group detectors would never see those rows.
"""

from __future__ import annotations

import asyncio

import orjson

from pipeline.subject import CountedComplaint, Outputs
from streams.agents.fanout import Fanout
from streams.wiring import Wiring
from tests.factories import make_uscc
from tests.streams.recorded_producer import recorded_producer
from topics.internal import PeerUpdate, decode_complaint_counts, decode_peer_updates

#: An event id as long as the contract allows, in characters of three UTF-8 bytes.
LONG_ID = "事" * 128
ROWS = 2_000


def test_a_batch_of_large_rows_reaches_the_group_detectors_whole_and_in_order(
    worker: Wiring,
) -> None:
    fanout = Fanout()
    for n in range(ROWS):
        outputs = Outputs(event_time_s=0.0)
        features = tuple(float(n + i) / 7 for i in range(6))
        outputs.peer_updates.append(
            PeerUpdate(
                "food_drug|130102", make_uscc(n), features, features, float(n),
                f"{LONG_ID}{n}", "B", 40.0, "130102", "food_drug",
            )
        )  # fmt: skip
        outputs.counted_complaint = CountedComplaint(
            f"category-{'类' * 100}", f"13{n:04d}", "food_drug", float(n), f"{LONG_ID}{n}"
        )
        fanout.add(outputs)

    with recorded_producer(worker.app) as producer:
        asyncio.run(fanout.send(worker.publish))

    limit = worker.app.conf.producer_max_request_size
    peers = producer.records(worker.channels.peer_feature_changes)
    counts = producer.records(worker.channels.complaint_counts)
    assert all(len(r.value or b"") < limit for r in peers + counts)
    assert producer.records(worker.channels.dead_letters) == []
    updates = [u for r in peers for u in decode_peer_updates(r.value or b"")]
    assert [u.event_id for u in updates] == [f"{LONG_ID}{n}" for n in range(ROWS)]
    tallies = [c for r in counts for c in decode_complaint_counts(r.value or b"")]
    assert sorted(c.event_id for c in tallies) == sorted(f"{LONG_ID}{n}" for n in range(ROWS))
    assert orjson.loads(peers[0].value or b"")[0]["group"] == "food_drug|130102"
