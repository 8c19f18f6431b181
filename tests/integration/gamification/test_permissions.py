"""Who may read what: submissions (owner, another learner, author/admin),
hidden tests reduced to their verdict for learners, progress, drafts and
cohort boards."""
import grpc
import pytest

from gamekit import AC, WA
from dojo.common.v1 import common_pb2
from dojo.gamification.v1 import gamification_pb2 as gpb


@pytest.fixture(scope="module")
def people(auth):
    """(user id, access token) of two learners and an author."""
    def session(role=None):
        acct, pair = auth.client.new_session()
        if role:
            r = auth.run_cli("set-role", acct.username, role)
            assert r.returncode == 0, r.stderr
            pair = auth.client.login(acct.username, acct.password)
        return acct.user.id, pair.access_token
    return {"ann": session(), "bob": session(), "author": session("author")}


def expect(code, fn, *a, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*a, **kw)
    assert e.value.code() == code, e.value.details()
    return e.value


def test_submissions_are_visible_to_owner_and_authors_only(gc, clock, people):
    clock.set("2026-08-01T10:00:00Z")
    ann, ann_tok = people["ann"]
    bob, bob_tok = people["bob"]
    _, author_tok = people["author"]
    sub = gc.create(ann, "g-hello", code="print(input())\n")
    tests = [
        gpb.TestResult(index=0, name="sample", verdict=AC, weight=1, output_excerpt="1\n",
                       message="ok"),
        gpb.TestResult(index=1, name="secret-name", hidden=True, verdict=WA, weight=1,
                       output_excerpt="leak", message="expected 2, got 3"),
    ]
    gc.record(sub, verdict=WA, tests=tests)

    own = gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sub), token=ann_tok)
    s = own.submission
    assert s.user_id == ann and s.code == "print(input())\n"
    assert s.state == gpb.SUBMISSION_STATE_FINISHED and s.verdict == WA
    assert (s.score, s.max_score) == (1, 2)
    visible, hidden = s.tests
    assert visible.name == "sample" and visible.output_excerpt == "1\n"
    assert hidden.name == "hidden-1" and hidden.hidden and hidden.verdict == WA
    assert hidden.output_excerpt == "" and hidden.message == "", "hidden tests: verdict only"

    expect(grpc.StatusCode.NOT_FOUND, gc.call, "GetSubmission",
           gpb.GetSubmissionRequest(submission_id=sub), token=bob_tok)
    by_author = gc.call("GetSubmission", gpb.GetSubmissionRequest(submission_id=sub),
                        token=author_tok).submission
    assert by_author.tests[1].name == "hidden-1" and by_author.tests[1].output_excerpt == ""

    mine = gc.call("ListSubmissions", gpb.ListSubmissionsRequest(), token=ann_tok)
    assert [x.id for x in mine.submissions] == [sub]
    assert mine.submissions[0].verdict == WA
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.call, "ListSubmissions",
           gpb.ListSubmissionsRequest(user_id=ann), token=bob_tok)
    theirs = gc.call("ListSubmissions", gpb.ListSubmissionsRequest(user_id=ann),
                     token=author_tok)
    assert [x.id for x in theirs.submissions] == [sub]
    expect(grpc.StatusCode.INVALID_ARGUMENT, gc.call, "ListSubmissions",
           gpb.ListSubmissionsRequest(), token=author_tok)
    every = gc.call("ListSubmissions", gpb.ListSubmissionsRequest(task_slug="g-hello"),
                    token=author_tok)
    assert sub in [x.id for x in every.submissions]
    expect(grpc.StatusCode.INVALID_ARGUMENT, gc.call, "ListSubmissions",
           gpb.ListSubmissionsRequest())
    # Learners can not create submissions or record results themselves.
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.call, "RecordResult",
           gpb.RecordResultRequest(submission_id=sub, verdict=AC), token=ann_tok)


def test_list_submissions_pages_newest_first(gc, clock, people):
    bob, bob_tok = people["bob"]
    t = clock.set("2026-08-02T10:00:00Z")
    ids = []
    for i in range(5):
        clock.set(t + i)
        ids.append(gc.create(bob, "g-sum"))
    page = gc.call("ListSubmissions", gpb.ListSubmissionsRequest(
        page=common_pb2.PageRequest(page_size=3)), token=bob_tok)
    assert [x.id for x in page.submissions] == ids[::-1][:3]
    assert all(x.state == gpb.SUBMISSION_STATE_PENDING for x in page.submissions)
    rest = gc.call("ListSubmissions", gpb.ListSubmissionsRequest(page=common_pb2.PageRequest(
        page_size=3, page_token=page.page.next_page_token)), token=bob_tok)
    assert [x.id for x in rest.submissions] == ids[::-1][3:]
    assert rest.page.next_page_token == ""


def test_progress_and_drafts_belong_to_their_owner(gc, clock, people):
    ann, ann_tok = people["ann"]
    bob, bob_tok = people["bob"]
    _, author_tok = people["author"]
    clock.set("2026-08-03T10:00:00Z")
    p = gc.progress("", token=ann_tok)
    assert p.user_id == ann
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.progress, ann, token=bob_tok)
    assert gc.progress(ann, token=author_tok).user_id == ann
    empty = gc.progress(bob.replace(bob[:8], "00000000"))
    assert empty.total_points == 0 and empty.time_zone == "UTC" and len(empty.calendar) == 365

    gc.call("SaveDraft", gpb.SaveDraftRequest(task_slug="g-hello", language="python3",
                                              code="x = 1\n"), token=ann_tok)
    d = gc.call("GetDraft", gpb.GetDraftRequest(task_slug="g-hello"), token=ann_tok)
    assert d.found and d.draft.code == "x = 1\n" and d.draft.language == "python3"
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.call, "GetDraft",
           gpb.GetDraftRequest(user_id=ann, task_slug="g-hello"), token=bob_tok)
    gc.call("SaveDraft", gpb.SaveDraftRequest(task_slug="g-hello", language="python3",
                                              code=""), token=ann_tok)
    assert not gc.call("GetDraft", gpb.GetDraftRequest(task_slug="g-hello"),
                       token=ann_tok).found
    expect(grpc.StatusCode.INVALID_ARGUMENT, gc.call, "SaveDraft", gpb.SaveDraftRequest(
        task_slug="g-hello", language="python3", code="x" * (64 * 1024 + 1)), token=ann_tok)


def test_cohort_boards_are_for_members(gc, clock, people):
    ann, ann_tok = people["ann"]
    _, bob_tok = people["bob"]
    _, author_tok = people["author"]
    clock.set("2026-08-04T10:00:00Z")
    gc.profile(ann, display_name="Ann")
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.call, "CreateCohort",
           gpb.CreateCohortRequest(slug="perm-c", title="P"), token=ann_tok)
    made = gc.call("CreateCohort", gpb.CreateCohortRequest(slug="perm-c", title="P"),
                   token=author_tok)
    assert made.cohort.created_by == people["author"][0]
    gc.call("AddCohortMember", gpb.AddCohortMemberRequest(cohort_slug="perm-c", user_id=ann),
            token=author_tok)
    gc.board(gpb.BOARD_COHORT, cohort="perm-c", token=ann_tok)
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.board, gpb.BOARD_COHORT, cohort="perm-c",
           token=bob_tok)
    mine = gc.call("ListCohorts", gpb.ListCohortsRequest(), token=ann_tok)
    assert [c.slug for c in mine.cohorts] == ["perm-c"]
    assert len(gc.call("ListCohorts", gpb.ListCohortsRequest(), token=bob_tok).cohorts) == 0
    expect(grpc.StatusCode.PERMISSION_DENIED, gc.call, "ListCohorts",
           gpb.ListCohortsRequest(member_user_id=ann), token=bob_tok)
    expect(grpc.StatusCode.UNAUTHENTICATED, gc.call, "GetLeaderboard",
           gpb.GetLeaderboardRequest(board=gpb.BOARD_ALL_TIME), service=False)
