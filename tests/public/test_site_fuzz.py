"""Fuzz: no path, query or parameter of the public site reaches anything unpublished.

A store is seeded with records of every kind in every standing, each carrying
a marker that says whether the public may see it now, decided here by the
rules as the law states them (not by the code under test). Hypothesis then
sends the site arbitrary paths and parameters, and every answer is searched for
a hidden marker; the list pages are also crawled to their last page, and each
subject's page must show exactly its visible markers.
"""

from __future__ import annotations

import random
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_uscc
from tests.public import store_seed as s
from tests.public.site_support import NOW, POLICY, serving_site
from topics.vocabulary import SHIJIAZHUANG_COUNTIES

ADVERSE = ("penalty", "licence_suspended", "licence_revoked", "tax_violation",
           "court_dishonest_debtor", "abnormal_operation_listed", "interview")  # fmt: skip
STATUSES = ("published", "repaired", "corrected", "expired")
SUBJECTS = [make_uscc(700 + i) for i in range(12)]
HIDDEN = re.compile(r"FZ\d{3}-HID")


def population(seed: int = 15) -> tuple[list[s.Message], dict[str, set[str]]]:
    """Records of every kind and standing; per subject, the markers that must be visible."""
    rng = random.Random(seed)
    messages: list[s.Message] = []
    visible: dict[str, set[str]] = {subject: set() for subject in SUBJECTS}
    for i in range(160):
        subject = SUBJECTS[i % len(SUBJECTS)]
        region = rng.choice(["130102", "130104", "130105"])
        occurred = NOW - timedelta(days=rng.uniform(0.01, 500))
        event_id = f"fz-{i}"
        kind = rng.choice((*ADVERSE, "spot_check", "licence_granted", "honour"))
        fields: dict[str, object] = {"region": region}
        if kind == "penalty":
            fields["severity"] = rng.choice(["minor", "general", "serious"])
        shown: bool
        if kind == "spot_check":
            fields["result"] = rng.choice(["passed", "problems_found", "not_found_at_address"])
        if kind in ADVERSE or fields.get("result") in ("problems_found", "not_found_at_address"):
            status = rng.choice(STATUSES)
            days = rng.uniform(1, 400)
            start = occurred
            stored = rng.random() < 0.85  # else the sink has not written its publication yet
            shown = stored and status == "published" and start <= NOW < start + timedelta(days)
        else:
            window = {
                "licence_granted": POLICY.licence_window,
                "honour": POLICY.honour_window,
                "spot_check": POLICY.spot_check_window,
            }[kind]
            shown = NOW - occurred < window
            stored = False
        marker = f"FZ{i:03d}-{'PUB' if shown else 'HID'}"
        messages.append(
            s.enforcement(
                subject=subject,
                event_id=event_id,
                kind=kind,
                occurred_at=occurred,
                reference=marker,
                description=f"{marker} 说明",
                legal_rep_id=f"FZ{i:03d}-HID-PERSON",
                **fields,
            )
        )
        if stored:
            messages.append(
                s.publication(
                    subject,
                    event_id,
                    start,
                    kind=kind,
                    status=status,
                    days=days,  # type: ignore[arg-type]
                    version=1 if status == "published" else 2,
                    region=region,
                )  # fmt: skip
            )
        if shown:
            visible[subject].add(marker)
    return messages, visible


@pytest.fixture(scope="module")
def fuzzed(module_store: str) -> Iterator[tuple[str, dict[str, set[str]]]]:
    messages, visible = population()
    s.seed(module_store, messages)
    with serving_site(module_store) as base:
        yield base, visible


def fetch(base: str, path: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(base + path, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def markers(html: str) -> set[str]:
    return set(re.findall(r"FZ\d{3}-(?:PUB|HID)", html))


def test_each_subject_page_shows_exactly_its_visible_records(fuzzed):
    base, visible = fuzzed
    assert sum(map(len, visible.values())) >= 20  # enough on show to mean something
    for subject, expected in visible.items():
        status, html = fetch(base, f"/subjects/{subject}")
        assert status == 200
        assert markers(html) == expected, subject


def test_crawling_every_list_page_finds_only_visible_records(fuzzed):
    base, visible = fuzzed
    everything = set().union(*visible.values())
    seen: set[str] = set()
    for start in ("/", "/penalties", "/licences", "/spot-checks", "/lists/key_attention"):
        path: str | None = start
        pages = 0
        while path is not None and pages < 50:
            status, html = fetch(base, path)
            assert status == 200, path
            assert not HIDDEN.search(html), path
            seen |= markers(html)
            found = re.search(r'href="([^"]+)">下一页', html)
            path = unescape(found.group(1)) if found else None
            pages += 1
    assert seen <= everything
    assert seen, "the lists showed nothing at all"


SEGMENTS = st.sampled_from(
    [
        "subjects",
        "penalties",
        "licences",
        "spot-checks",
        "lists",
        "reports",
        "search",
        "..",
        "%2e%2e",
        "joint_punishment",
        "key_attention",
        "site.css",
        "health",
        "",
        *SUBJECTS,
    ]  # fmt: skip
)
VALUES = st.one_of(
    st.sampled_from([*SUBJECTS, *SHIJIAZHUANG_COUNTIES, "true", "false", "'--", "%00", "0" * 30]),
    st.text(max_size=40),
)
PARAMETERS = st.dictionaries(
    st.sampled_from(["q", "region", "after", "number", "kind", "status", "published", "limit"]),
    VALUES,
    max_size=4,
)


@given(segments=st.lists(SEGMENTS, min_size=1, max_size=3), query=PARAMETERS, post=st.booleans())
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_reaches_anything_unpublished(fuzzed, segments, query, post):
    base, _ = fuzzed
    path = "/" + "/".join(urllib.parse.quote(segment, safe="%.") for segment in segments)
    if query:
        path += "?" + urllib.parse.urlencode(query)
    data = urllib.parse.urlencode(query).encode() if post else None
    status, html = fetch(base, path, data)
    assert status < 500, (path, status, html[:300])
    assert not HIDDEN.search(html), path
