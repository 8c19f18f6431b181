-- Contests: who takes part (teams, members, the jury), the judgements of
-- contest submissions, clarifications, what the jury revealed and did, and
-- the event log the CLICS event feed replays. Definitions are content's.

-- One row per contest this service has seen: what it last announced in the
-- event log (the definition's hash, the state, the awards), the jury's
-- thaw and finalisation, and counters.
CREATE TABLE game.contests (
    slug                text PRIMARY KEY,
    def_hash            text NOT NULL DEFAULT '',
    state_pb            bytea,            -- ContestState last announced
    awards_public_pb    bytea,            -- Scoreboard (awards only) last announced
    awards_jury_pb      bytea,
    thawed_at           timestamptz,
    finalized_at        timestamptz,
    board_generation    bigint NOT NULL DEFAULT 0,
    next_team           bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL
);

-- Teams; `id` is the CLICS team id (a number in text, per contest).
CREATE TABLE game.contest_teams (
    contest          text NOT NULL REFERENCES game.contests (slug),
    id               text NOT NULL,
    name             text NOT NULL,
    organization_id  text NOT NULL DEFAULT '',
    group_ids        text[] NOT NULL DEFAULT '{}',
    hidden           boolean NOT NULL DEFAULT false,
    join_code        text NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (contest, id)
);
CREATE UNIQUE INDEX contest_teams_join_idx ON game.contest_teams (contest, join_code);

-- A learner belongs to one team of a contest, or to its jury.
CREATE TABLE game.contest_members (
    contest    text NOT NULL REFERENCES game.contests (slug),
    user_id    uuid NOT NULL,
    team_id    text,                      -- NULL for the jury
    joined_at  timestamptz NOT NULL,
    PRIMARY KEY (contest, user_id),
    FOREIGN KEY (contest, team_id) REFERENCES game.contest_teams (contest, id)
);
CREATE INDEX contest_members_team_idx ON game.contest_members (contest, team_id);

-- Contest submissions are rows of game.submissions with these set; the
-- CLICS submission id is `seq`.
ALTER TABLE game.submissions
    ADD COLUMN contest          text,
    ADD COLUMN contest_team     text,
    ADD COLUMN contest_problem  text,
    ADD COLUMN contest_ms       bigint,
    ADD COLUMN contest_counted  boolean NOT NULL DEFAULT false;
CREATE INDEX submissions_contest_idx ON game.submissions (contest, seq) WHERE contest IS NOT NULL;

-- Judgements of contest submissions: the first judging (id = the
-- submission's id), rejudges (id = the job's submission id, so the executor
-- records it like any job) and the jury's overrides. The current judgement
-- of a submission is its newest finished one. The CLICS id is `seq`.
CREATE TABLE game.contest_judgements (
    seq            bigserial PRIMARY KEY,
    id             uuid NOT NULL UNIQUE,
    contest        text NOT NULL,
    submission_id  uuid NOT NULL REFERENCES game.submissions (id),
    kind           text NOT NULL CHECK (kind IN ('judge', 'rejudge', 'override')),
    task_version   integer NOT NULL,          -- the version judged against
    verdict        smallint NOT NULL DEFAULT 0,
    score_c        bigint NOT NULL DEFAULT 0, -- IOI points in hundredths
    max_run_ms     integer NOT NULL DEFAULT 0,
    result_pb      bytea,                     -- RecordResultRequest as recorded
    actor          text NOT NULL DEFAULT '',
    reason         text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz
);
CREATE INDEX contest_judgements_sub_idx ON game.contest_judgements (submission_id, seq);
CREATE INDEX contest_judgements_contest_idx ON game.contest_judgements (contest, seq);

CREATE TABLE game.contest_clarifications (
    seq            bigserial PRIMARY KEY,
    contest        text NOT NULL REFERENCES game.contests (slug),
    from_team      text,                      -- NULL: written by the jury
    to_team        text,                      -- NULL: to everyone (or to the jury)
    reply_to       bigint REFERENCES game.contest_clarifications (seq),
    problem        text NOT NULL DEFAULT '',
    body           text NOT NULL,
    announcement   boolean NOT NULL DEFAULT false,
    author         text NOT NULL,
    created_at     timestamptz NOT NULL,
    contest_ms     bigint NOT NULL
);
CREATE INDEX contest_clarifications_idx ON game.contest_clarifications (contest, seq);

-- Cells of the frozen board the jury revealed (RevealNext).
CREATE TABLE game.contest_reveals (
    contest      text NOT NULL REFERENCES game.contests (slug),
    team_id      text NOT NULL,
    problem      text NOT NULL,
    revealed_at  timestamptz NOT NULL,
    PRIMARY KEY (contest, team_id, problem)
);

-- What the jury did, newest last.
CREATE TABLE game.contest_audit (
    id            bigserial PRIMARY KEY,
    contest       text NOT NULL,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    actor_name    text NOT NULL,
    action        text NOT NULL,
    target        text NOT NULL,
    from_verdict  smallint NOT NULL DEFAULT 0,
    to_verdict    smallint NOT NULL DEFAULT 0,
    reason        text NOT NULL DEFAULT ''
);
CREATE INDEX contest_audit_idx ON game.contest_audit (contest, id);

-- The event log: one row per change of an object, with who may see it (the
-- jury; everyone; or the jury and one team). `data_pb` is a packed
-- ContestEvent without its token; NULL data means the object was deleted.
CREATE TABLE game.contest_events (
    seq         bigserial PRIMARY KEY,
    contest     text NOT NULL,
    type        text NOT NULL,
    obj_id      text NOT NULL DEFAULT '',
    data_pb     bytea NOT NULL,
    for_jury    boolean NOT NULL,
    for_public  boolean NOT NULL,
    for_team    text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX contest_events_idx ON game.contest_events (contest, seq);
