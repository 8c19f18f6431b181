"""Unit tests of the load generator's pure parts: scenario parsing, the
figures (percentiles, buckets, CPU, growth), the tree CPU counter, the dealt
program mix, the plot. No stack, no network; well under a second.

    /usr/bin/python3 -m pytest -q loadtest/t
"""
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import loadtest  # noqa: E402
import plot  # noqa: E402
import probe  # noqa: E402
import scenario  # noqa: E402
import stats  # noqa: E402
import wire  # noqa: E402


# ---- scenarios ---------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((HERE.parent / "scenarios").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_every_shipped_scenario_parses_and_names_itself(path):
    s = scenario.load(path)
    assert s["name"] == path.stem
    assert s["description"]
    assert s["duration_s"] + s["drain_s"] <= scenario.MAX_DURATION_S


def test_defaults_fill_what_a_scenario_leaves_out():
    s = scenario.parse("learners = 3\n[submit]\nevery_s = 30\n")
    assert s["learners"] == 3 and s["submit"]["every_s"] == 30.0
    assert s["submit"]["tasks"] == scenario.DEFAULTS["submit"]["tasks"]
    assert s["browse"]["pages"]["task"] == 5.0


def test_an_unknown_key_is_an_error_that_names_it():
    with pytest.raises(scenario.ScenarioError, match=r"submit\.evry_s: unknown key"):
        scenario.parse("[submit]\nevry_s = 30\n")


@pytest.mark.parametrize("text,where", [
    ("learners = 0", "learners"),
    ("learners = 2.5", "learners"),
    ("learners = true", "learners"),
    ("duration_s = -1", "duration_s"),
    ("[arrival]\nmode = 'soon'", "arrival.mode"),
    ("[submit]\nmix = { right = -1 }", "submit.mix.right"),
    ("[submit]\nmix = { perfect = 1 }", "submit.mix.perfect"),
    ("[submit]\nmix = { right = 0 }", "submit.mix"),
    ("[submit]\ntasks = []", "submit.tasks"),
    ("[submit]\nhostile = ['nuke']", "submit.hostile"),
    ("[stack.env]\nPATH = '/tmp'", "stack.env.PATH"),
    ("[stack.env]\nDOJO_X = 3", "stack.env.DOJO_X"),
    ("learners = ", "not valid TOML"),
])
def test_bad_values_are_refused_with_the_field(text, where):
    with pytest.raises(scenario.ScenarioError, match=where.replace(".", r"\.")):
        scenario.parse(text)


def test_overrides_change_one_field_and_are_checked_again():
    s = scenario.parse("learners = 3")
    t = scenario.apply_override(s, "learners=700")
    assert t["learners"] == 700 and s["learners"] == 3
    t = scenario.apply_override(t, "submit.mix={slow=1}")
    assert t["submit"]["mix"]["slow"] == 1.0 and t["submit"]["mix"]["right"] == 0.0
    t = scenario.apply_override(t, "submit.schedule=window")  # a bare word is a string
    assert t["submit"]["schedule"] == "window"
    t = scenario.apply_override(t, "stack.env.DOJO_GATEWAY_WS_MAX=\"9000\"")
    assert t["stack"]["env"] == {"DOJO_GATEWAY_WS_MAX": "9000"}
    for bad in ("learners", "nope=1", "submit.nope=1", "learners.x=1", "learners=0"):
        with pytest.raises(scenario.ScenarioError):
            scenario.apply_override(s, bad)


def test_arrivals_spread_evenly_and_the_schedule_is_counted():
    s = scenario.parse("learners = 4\nduration_s = 100\n[arrival]\nover_s = 8\n"
                       "[submit]\nevery_s = 10\nfirst_within_s = 0\n")
    assert [scenario.arrival_offset(s, i) for i in range(4)] == [0, 2, 4, 6]
    # learner i is active 100 - 2i s: 1 + (100 - 2i) / 10 submissions each
    assert scenario.expected_submissions(s) == round(sum(1 + (100 - 2 * i) / 10 for i in range(4)))
    w = scenario.parse("learners = 5\n[submit]\nschedule = 'window'\nper_learner = 2\n")
    assert scenario.expected_submissions(w) == 10


# ---- figures -----------------------------------------------------------------

def test_percentiles_are_nearest_rank_like_the_benchmarks():
    v = list(range(1, 101))
    assert stats.summary(v) == {"n": 100, "p50": 50.0, "p90": 90.0, "p99": 99.0,
                                "max": 100.0, "mean": 50.5}
    assert stats.summary([7])["p99"] == 7.0
    assert stats.summary([])["p50"] is None
    assert stats.summary([None, 3])["n"] == 1


def test_buckets_group_by_time():
    b = stats.Buckets(5)
    for t, v in [(0.1, 10), (4.9, 30), (5.0, 100), (12, 1)]:
        b.add("lat", t, v)
    assert b.count("lat", 4) == [2, 1, 1, 0]
    assert b.percentile("lat", 50, 3) == [10, 100, 1]
    assert b.last("lat", 4) == [30, 100, 1, None]
    assert b.mean("lat", 2) == [20, 100]
    with pytest.raises(ValueError):
        stats.Buckets(0)


def test_cpu_percent_is_the_mean_rate_inside_the_window():
    samples = [(t, 0.5 * t) for t in range(11)]  # half a core
    assert stats.cpu_percent(samples, 2, 8) == pytest.approx(50.0)
    assert stats.cpu_percent(samples, 20, 30) is None
    assert [round(r) for _, r in stats.rates(samples[:3])] == [50, 50]


def test_growth_tells_a_leak_from_noise():
    leak = [(t, 100 + t / 10) for t in range(0, 600, 10)]
    level = [(t, 100 + (5 if (t // 10) % 2 else -5)) for t in range(0, 600, 10)]
    g = stats.growth(leak, 0, 600)
    assert g["delta"] > 40 and g["per_hour"] == pytest.approx(360, rel=0.01)
    g = stats.growth(level, 0, 600)
    assert abs(g["delta"]) <= 2 and abs(g["per_hour"]) < 30
    assert stats.growth(leak[:3], 0, 600) is None


# ---- the CPU of a process tree ---------------------------------------------------

def test_tree_cpu_counts_a_reaped_child_once():
    c = probe.TreeCpu()
    # pid: (ppid, own, reaped children, start)
    assert c.update({1: (0, 10, 0, 1), 2: (1, 50, 0, 2)}) == 60
    # 2 ended; its 60 ticks (50 seen + 10 more) went to 1's reaped counter
    assert c.update({1: (0, 11, 60, 1)}) == 71


def test_tree_cpu_keeps_what_left_the_tree_unreaped():
    c = probe.TreeCpu()
    c.update({1: (0, 10, 0, 1), 2: (1, 0, 0, 2), 3: (2, 40, 0, 3)})
    # 2 and 3 vanished (reparented away): nobody in the tree took their ticks
    assert c.update({1: (0, 12, 0, 1)}) == 52


def test_tree_cpu_tells_a_reused_pid_from_the_same_process():
    c = probe.TreeCpu()
    c.update({1: (0, 10, 0, 1), 2: (1, 30, 0, 2)})
    # pid 2 is a new process (another start time); the old one was reaped by 1
    assert c.update({1: (0, 10, 30, 1), 2: (1, 5, 0, 99)}) == 45


# ---- behaviour -----------------------------------------------------------------------

def test_a_dealt_mix_follows_the_weights_exactly():
    s = scenario.parse("[submit]\norder = 'dealt'\n"
                       "mix = { right = 6, wrong = 2, slow = 1, tle = 1, hostile = 2 }\n")
    run = loadtest.Run(s, "127.0.0.1", 1)
    got = [run.next_program(None) for _ in range(120)]
    assert Counter(k for k, _ in got) == {"right": 60, "wrong": 20, "slow": 10, "tle": 10,
                                          "hostile": 20}
    assert Counter(v for k, v in got if k == "hostile") == {
        "escape": 5, "forkbomb": 5, "memory": 5, "output": 5}
    first12 = Counter(k for k, _ in got[:12])
    assert first12["tle"] == 1 and first12["hostile"] == 2


def test_learners_connect_from_distinct_loopback_addresses():
    ips = {wire.learner_ip(i) for i in range(20000)}
    assert len(ips) == 20000
    assert all(ip.startswith("127.") for ip in ips)
    assert wire.learner_ip(0) == "127.16.0.1"
    with pytest.raises(ValueError):
        wire.learner_ip(-1)


def test_a_response_head_is_parsed_with_every_set_cookie():
    st, h = wire._parse_head(b"HTTP/1.1 201 Created\r\nSet-Cookie: a=1; Path=/\r\n"
                             b"Set-Cookie: b=2\r\nContent-Length: 0")
    assert st == 201 and [v for k, v in h if k == "set-cookie"] == ["a=1; Path=/", "b=2"]
    with pytest.raises(wire.WireError):
        wire._parse_head(b"SMTP ready")


def test_the_plot_is_well_formed_svg_with_gaps():
    text = plot.svg("t <&>", [{"title": "lat", "unit": "ms",
                               "series": [("p99", [(0, 1), (1, None), (2, 3), (3, 4)])]},
                              {"title": "empty", "unit": "x", "series": []}], 4)
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 1
    assert len(root.findall(".//{http://www.w3.org/2000/svg}circle")) == 1
    assert [plot.nice_max(v) for v in (0, 3, 10, 11, 0.3)] == [1, 5, 10, 20, 0.5]


def test_a_run_is_clean_only_without_loss_duplicates_or_unallowed_errors():
    s = scenario.parse("[expect]\nmax_errors = 1\nallow = ['HTTP 503 WebSocket open']\n")

    def report(**kw):
        sub = {"lost": 0, "unfinished_at_end": 0, "duplicated": 0}
        sub.update(kw.pop("sub", {}))
        errors = kw.pop("errors", {})
        return {"submissions": sub, "counters": kw, "errors": errors,
                "errors_total": sum(errors.values())}

    assert loadtest.judge(report(), s) == (True, "clean")
    assert loadtest.judge(report(errors={"HTTP 503 WebSocket open": 500, "timeout x": 1}), s)[0]
    clean, why = loadtest.judge(report(errors={"timeout x": 2}), s)
    assert not clean and "2 errors" in why
    for sub in ({"lost": 1}, {"duplicated": 1}, {"unfinished_at_end": 3}):
        assert not loadtest.judge(report(sub=sub), s)[0]
    assert not loadtest.judge(report(escapes=1), s)[0]


def test_a_shed_503_is_tried_again_after_its_retry_after_bounded():
    import learner
    shed = wire.Response(503, [("retry-after", "3")], b"", 1.0)
    assert learner.retry_after(shed) == 3.0
    assert learner.retry_after(wire.Response(503, [("retry-after", "9999")], b"", 1.0)) \
        == learner.SHED_WAIT_MAX_S
    assert learner.retry_after(wire.Response(503, [], b"", 1.0)) is None
    assert learner.retry_after(wire.Response(503, [("retry-after", "soon")], b"", 1.0)) is None


def test_the_held_figure_starts_once_the_last_arrivals_first_submission_was_due():
    s = scenario.load(HERE.parent / "scenarios" / "steady.toml")
    a, b = loadtest.settled_window(s, s["duration_s"])
    assert a == pytest.approx(scenario.arrivals_end(s) + s["submit"]["first_within_s"])
    assert b == s["duration_s"]
    # a run cut short before the schedule settles has no held figure
    assert loadtest.settled_window(s, a) is None
    burst = scenario.load(HERE.parent / "scenarios" / "burst.toml")
    assert loadtest.settled_window(burst, burst["duration_s"]) is None
