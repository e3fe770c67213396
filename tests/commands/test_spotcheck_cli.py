"""``creditwatch spotcheck draw`` end to end on small CSV files, in process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pytest
import redis

from creditwatch.admin_io import read_topic
from creditwatch.cli import main
from creditwatch.embedded import EmbeddedStack
from streams.serving import redis_keys as keys
from topics.catalogue import SPOTCHECK_PLANS

REGION = "130102"


def write_inputs(tmp_path: Path, n: int = 60) -> tuple[Path, Path, Path]:
    subjects, roster, history = tmp_path / "s.csv", tmp_path / "r.csv", tmp_path / "h.csv"
    with subjects.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uscc", "region", "sector", "tier", "triggered"])
        for i in range(n):
            writer.writerow([f"9113{i:014d}", REGION, "food_drug", "ABCD"[i % 4], i % 8 == 0])
        writer.writerow(["91130181000000000X", "130181", "other", "D", "no"])  # other county
    roster.write_text(
        "inspector_id,name,regions,conflicts\n"
        "I1,张三,130102,91130102000000000003\n"
        "I2,李四,130102;130104,\n"
        "I3,王五,130102,\n"
        "I4,赵六,130181,\n"
    )
    history.write_text("uscc,inspector_id\n91130102000000000001,I2\n")
    return subjects, roster, history


def draw(tmp_path: Path, *extra: str) -> int:
    subjects, roster, history = write_inputs(tmp_path)
    return main(
        ["spotcheck", "draw", "--region", REGION, "--date", "2026-03-01", "--seed", "7",
         "--subjects", str(subjects), "--roster", str(roster), "--history", str(history),
         *extra]
    )  # fmt: skip


def test_draw_writes_json_and_csv_plans_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_json, plan_csv = tmp_path / "plan.json", tmp_path / "plan.csv"

    assert draw(tmp_path, "--out", str(plan_json), "--out", str(plan_csv)) == 0

    plan = json.loads(plan_json.read_text())
    assert plan["region"] == REGION and plan["seed"] == 7 and plan["date"] == "2026-03-01"
    assert plan["counts"]["D"]["subjects"] == 15 and plan["counts"]["A"]["eligible"] == 8
    assert plan["tasks"]
    with plan_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["uscc"] for r in rows] == [t["uscc"] for t in plan["tasks"]]
    for row in rows:
        pair = {row["inspector_1"], row["inspector_2"]}
        assert len(pair) == 2 and "I4" not in pair  # I4 covers another county
        if row["uscc"] == "91130102000000000003":
            assert "I1" not in pair
        if row["uscc"] == "91130102000000000001":
            assert "I2" not in pair
    out = capsys.readouterr().out
    assert "seed 7" in out and f"{len(rows)} visits" in out
    assert out.splitlines()[1].split()[:5] == ["tier", "subjects", "eligible", "ratio", "drawn"]


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert draw(tmp_path, "--out", str(first)) == 0
    assert draw(tmp_path, "--out", str(second)) == 0
    assert first.read_bytes() == second.read_bytes()


def test_simulated_city_draws_without_input_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["spotcheck", "draw", "--region", "130105", "--date", "2026-03-01", "--seed", "1",
            "--simulated", "2000"]  # fmt: skip
    assert main(argv) == 0
    assert "130105" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["--region", "999999"], "unknown region code '999999'"),
        (["--subjects", "MISSING"], "No such file"),
        (["--subjects", "BADTIER"], "line 2: tier must be A, B, C or D, got 'E'"),
        (["--subjects", "NOHEADER"], "header lacks column(s) triggered"),
        (["--policy", "BADPOLICY"], "'ratio.B' must be float"),
        (["--roster", "ONE"], "cannot pair two inspectors"),
        (["--out", "plan.txt"], "must end in .json or .csv"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: list[str], expected: str
) -> None:
    subjects, roster, _ = write_inputs(tmp_path)
    files = {
        "MISSING": tmp_path / "absent.csv",
        "BADTIER": tmp_path / "badtier.csv",
        "NOHEADER": tmp_path / "noheader.csv",
        "BADPOLICY": tmp_path / "policy.toml",
        "ONE": tmp_path / "one.csv",
    }
    files["BADTIER"].write_text("uscc,region,sector,tier,triggered\nX1,130102,other,E,0\n")
    files["NOHEADER"].write_text("uscc,region,sector,tier\nX1,130102,other,B\n")
    files["BADPOLICY"].write_text(
        'version = "x"\n[ratio]\nA = 0.1\nB = "high"\nC = 0.2\nD = 0.3\n'
        "[rounds_per_year]\nA = 1\nB = 1\nC = 1\nD = 1\n"
    )
    files["ONE"].write_text("inspector_id,name,regions,conflicts\nI1,张三,130102,\n")
    args = {"--region": REGION, "--subjects": str(subjects), "--roster": str(roster)}
    option, value = change
    args[option] = value if option == "--region" else str(files.get(value, tmp_path / value))
    argv = ["spotcheck", "draw", "--date", "2026-03-01", "--seed", "7"]
    for key, val in args.items():
        argv += [key, val]

    assert main(argv) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("creditwatch spotcheck draw: ")
    assert expected in err[0]


def test_subjects_and_simulated_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["spotcheck", "draw", "--region", REGION, "--date", "2026-03-01", "--seed", "1"]
    assert main(argv) == 2
    assert "exactly one of --live, --subjects FILE or --simulated N" in capsys.readouterr().err


def test_publish_puts_the_plan_on_its_topic_keyed_by_round(
    tmp_path: Path, embedded_stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    assert (
        draw(tmp_path, "--out", str(out), "--publish", "--bootstrap", embedded_stack.bootstrap) == 0
    )
    (message,) = read_topic(embedded_stack.bootstrap, SPOTCHECK_PLANS.name)
    assert message.key == f"{REGION}|2026-03-01".encode()
    assert message.value is not None
    assert json.loads(message.value) == json.loads(out.read_text("utf-8"))


def test_publish_without_a_broker_says_the_plan_was_not_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert draw(tmp_path, "--publish", "--bootstrap", "127.0.0.1:1") == 2
    assert "drawn but not published" in capsys.readouterr().err


def live_profile(subject: str, tier: str, **fields: object) -> dict[str, object]:
    """A profile as the serving view writes it (the fields a live draw reads)."""
    return {
        "subject": subject, "tier": tier, "region": REGION, "sector": "food_drug",
        "complaints_30d": 0, "iot_exceedances_24h": 0, "supervision": None, "red_list": None,
        **fields,
    }  # fmt: skip


def test_a_live_draw_reads_tiers_triggers_and_measures_from_the_serving_view(
    tmp_path: Path, embedded_stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    url = embedded_stack.redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own
    spot = {"code": "more_spot_checks", "category": "administrative", "description": "…",
            "actions": ["spot_check"]}  # fmt: skip
    attention = {"lists": [{"list": "key_attention", "expires_at": None, "measures": [spot]}]}
    profiles = [
        live_profile("S-A-QUIET", "A"),  # not triggered: never drawn
        live_profile("S-A-COMPLAINED", "A", complaints_30d=2),
        live_profile("S-C-WATCHED", "C", supervision=attention),
        live_profile("S-D-ELSEWHERE", "D", region="130181"),
    ]
    with redis.Redis.from_url(url) as client:
        client.flushdb()
        for p in profiles:
            client.hset(keys.SUBJECT_TIERS, str(p["subject"]), f"1|{p['tier']}")
            client.set(keys.profile(str(p["subject"])), orjson.dumps(p))
        client.hset(keys.SUBJECT_TIERS, "S-NO-PROFILE-YET", "1|D")
    policy = tmp_path / "all.toml"
    policy.write_text(
        'version = "all"\n[ratio]\nA = 1.0\nB = 1.0\nC = 1.0\nD = 1.0\n'
        "[rounds_per_year]\nA = 1\nB = 1\nC = 1\nD = 1\n"
    )
    _, roster, _ = write_inputs(tmp_path)
    out = tmp_path / "plan.json"
    argv = ["spotcheck", "draw", "--live", "--redis", url, "--region", REGION,
            "--date", "2026-03-01", "--seed", "7", "--roster", str(roster),
            "--policy", str(policy), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    tasks = json.loads(out.read_text("utf-8"))["tasks"]
    assert [(t["uscc"], t["tier"], t["reason"]) for t in tasks] == [
        ("S-A-COMPLAINED", "A", "triggered"),
        ("S-C-WATCHED", "C", "sampled"),
    ]
    assert "2 visits" in capsys.readouterr().out


def test_a_live_draw_without_redis_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _, roster, _ = write_inputs(tmp_path)
    argv = ["spotcheck", "draw", "--live", "--redis", "redis://127.0.0.1:1/0", "--region",
            REGION, "--date", "2026-03-01", "--seed", "7", "--roster", str(roster)]  # fmt: skip
    assert main(argv) == 2
    assert "cannot read the live serving view" in capsys.readouterr().err


def test_rounds_lists_the_year_and_a_scheduled_draw_keeps_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spotcheck", "rounds", "--region", REGION, "--year", "2026"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert lines == [
        "2026-01-04  tiers A B C D",
        "2026-04-02  tiers D",
        "2026-07-02  tiers C D",
        "2026-10-08  tiers D",
    ]
    out = tmp_path / "plan.json"
    subjects, roster, _ = write_inputs(tmp_path)
    common = ["spotcheck", "draw", "--region", REGION, "--seed", "7", "--subjects",
              str(subjects), "--roster", str(roster), "--scheduled"]  # fmt: skip
    assert main([*common, "--date", "2026-04-02", "--out", str(out)]) == 0
    plan = json.loads(out.read_text("utf-8"))
    assert {t["tier"] for t in plan["tasks"]} == {"D"}
    assert [plan["counts"][t]["due"] for t in "ABCD"] == [False, False, False, True]
    assert main([*common, "--date", "2026-04-03"]) == 2
    assert "no round is scheduled on 2026-04-03" in capsys.readouterr().err
