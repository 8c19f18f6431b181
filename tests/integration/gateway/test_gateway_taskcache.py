"""Task views kept by the gateway (issue 12.3): repeated views and submits
are answered without asking content, and an author's change is seen at once
— by the gateway that forwarded it and by another one sharing Redis — though
the cache TTL here is a minute: the generation in Redis, not the clock, ends
the old view. An archived task is no longer served from the cache."""
import urllib.request

import contentkit
import gwkit


def views(g, source):
    url = f"http://{g.env['DOJO_GATEWAY_METRICS_ADDR']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f'dojo_gateway_task_views_total{{source="{source}"}} '):
                return float(line.split()[1])
    return 0.0


def test_task_views_are_cached_and_an_authors_change_is_seen_at_once(start_gateway, author):
    a = start_gateway(DOJO_GATEWAY_TASKS_CACHE_TTL="60s")
    b = start_gateway(DOJO_GATEWAY_TASKS_CACHE_TTL="60s")
    slug = contentkit.unique_slug("gwc")
    doc = contentkit.task(slug, title="Cached task, v1")
    writer = gwkit.Client(a.addr, bearer=author.bearer)
    r = writer.post("/api/v1/author/tasks", {"task": doc})
    assert r.status == 201, r
    reader_a, reader_b = gwkit.Client(a.addr), gwkit.Client(b.addr)

    for c in (reader_a, reader_b):
        first = c.get(f"/api/v1/tasks/{slug}")
        assert first.status == 200 and first.json["title"] == "Cached task, v1", first
    before = views(a, "cache")
    for _ in range(5):
        r = reader_a.get(f"/api/v1/tasks/{slug}")
        assert r.status == 200 and r.json["version"] == 1
    assert views(a, "cache") >= before + 5

    r = writer.call("PUT", f"/api/v1/author/tasks/{slug}",
                    {"task": dict(doc, title="Cached task, v2"), "expected_version": 1})
    assert r.status == 200 and r.json["version"] == 2, r
    for c in (reader_a, reader_b):
        r = c.get(f"/api/v1/tasks/{slug}")
        assert r.status == 200, r
        assert (r.json["title"], r.json["version"]) == ("Cached task, v2", 2), r.json
    # An old version is still there when asked for by number.
    r = reader_b.get(f"/api/v1/tasks/{slug}?version=1")
    assert r.status == 200 and r.json["title"] == "Cached task, v1"

    r = writer.post(f"/api/v1/author/tasks/{slug}/archive", {})
    assert r.status == 200, r
    r = reader_b.get(f"/api/v1/tasks/{slug}")
    assert r.json.get("status") == "archived" or r.status == 404, r


def test_a_contest_that_hides_a_task_hides_it_at_once(start_gateway, author):
    """A contest PUT through one gateway that hides a task until the contest
    starts bumps the generation too: neither that gateway nor another one
    sharing Redis serves the task from its cache afterwards, and the
    gateway that forwarded it lists it no more (another one's cached list
    lives out its TTL, as after a task change)."""
    a = start_gateway(DOJO_GATEWAY_TASKS_CACHE_TTL="60s")
    b = start_gateway(DOJO_GATEWAY_TASKS_CACHE_TTL="60s")
    slug = contentkit.unique_slug("gwh")
    r = gwkit.Client(a.addr, bearer=author.bearer).post(
        "/api/v1/author/tasks", {"task": contentkit.task(slug, title="Soon a contest problem")})
    assert r.status == 201, r
    readers = (gwkit.Client(a.addr), gwkit.Client(b.addr))
    for c in readers:
        for _ in range(2):  # the second from the cache
            assert c.get(f"/api/v1/tasks/{slug}").status == 200
    listed = readers[0].get("/api/v1/tasks?page_size=500").json["tasks"]
    assert slug in [t["slug"] for t in listed]
    assert views(a, "cache") >= 1 and views(b, "cache") >= 1

    contest = {"slug": f"c-{slug}"[:64], "title": "A contest far ahead",
               "start": "2099-01-10T10:00:00Z", "duration": "3:00:00",
               "hide_tasks_until_start": True,
               "problems": [{"label": "A", "task_slug": slug}]}
    r = gwkit.Client(a.addr, bearer=author.bearer).call(
        "PUT", f"/api/v1/author/contests/{contest['slug']}",
        {"contest": contest, "expected_version": 0})
    assert r.status == 201, r
    for c in readers:
        r = c.get(f"/api/v1/tasks/{slug}")
        assert r.status == 404, r
    listed = readers[0].get("/api/v1/tasks?page_size=500").json["tasks"]
    assert slug not in [t["slug"] for t in listed]
