-- Submissions, results, points, streaks, achievements, cohorts, profiles and
-- drafts. Every instant that decides a day or a week is written from the
-- service's clock (a parameter), never from now().

-- What the service knows about a learner besides results.
CREATE TABLE game.profiles (
    user_id               uuid PRIMARY KEY,
    display_name          text NOT NULL,
    time_zone             text NOT NULL DEFAULT 'UTC',
    time_zone_changed_at  timestamptz,
    leaderboard_opt_out   boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL
);

-- One row per submission. The result (per-test records) and the awards are
-- kept as packed protobuf messages: they are read back whole, never queried.
CREATE TABLE game.submissions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigserial NOT NULL,          -- creation order, even within one instant
    user_id          uuid NOT NULL,
    task_slug        text NOT NULL,
    task_version     integer NOT NULL,
    language         text NOT NULL,
    code_hash        text NOT NULL,
    code             text NOT NULL DEFAULT '',
    kind             smallint NOT NULL,          -- SubmissionKind
    idempotency_key  text,
    created_at       timestamptz NOT NULL,
    finished         boolean NOT NULL DEFAULT false,
    verdict          smallint NOT NULL DEFAULT 0, -- dojo.common.v1.Verdict
    score            integer NOT NULL DEFAULT 0,
    max_score        integer NOT NULL DEFAULT 0,
    result_pb        bytea,                       -- RecordResultRequest as recorded
    awards_pb        bytea,                       -- Awards as granted
    points_awarded   integer NOT NULL DEFAULT 0,
    started_at       timestamptz,
    finished_at      timestamptz,
    executor_id      text NOT NULL DEFAULT ''
);
CREATE INDEX submissions_user_idx ON game.submissions (user_id, created_at DESC, seq DESC);
CREATE INDEX submissions_task_idx ON game.submissions (task_slug, created_at DESC, seq DESC);
CREATE UNIQUE INDEX submissions_idem_idx ON game.submissions (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Per-learner totals and streak state; its row is locked while a result is
-- recorded, so one learner's results are granted one at a time.
CREATE TABLE game.stats (
    user_id           uuid PRIMARY KEY,
    total_points      bigint NOT NULL DEFAULT 0,
    points_reached_at timestamptz,
    streak_current    integer NOT NULL DEFAULT 0,
    streak_longest    integer NOT NULL DEFAULT 0,
    freezes           integer NOT NULL DEFAULT 0,
    last_active_date  date
);

-- First accepted SUBMIT of each task: the points it earned.
CREATE TABLE game.solves (
    user_id        uuid NOT NULL,
    task_slug      text NOT NULL,
    task_version   integer NOT NULL,
    difficulty     smallint NOT NULL,
    points         integer NOT NULL,
    submission_id  uuid NOT NULL,
    first_attempt  boolean NOT NULL,
    solved_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, task_slug)
);
CREATE INDEX solves_time_idx ON game.solves (solved_at);

-- Accepted SUBMITs per day, the day taken in the learner's zone at the time.
CREATE TABLE game.active_days (
    user_id  uuid NOT NULL,
    day      date NOT NULL,
    count    integer NOT NULL,
    PRIMARY KEY (user_id, day)
);

CREATE TABLE game.achievements (
    user_id      uuid NOT NULL,
    slug         text NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL,
    icon         text NOT NULL,
    unlocked_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, slug)
);

CREATE TABLE game.cohorts (
    slug         text PRIMARY KEY,
    title        text NOT NULL,
    description  text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE game.cohort_members (
    cohort_slug  text NOT NULL REFERENCES game.cohorts (slug) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    joined_at    timestamptz NOT NULL,
    PRIMARY KEY (cohort_slug, user_id)
);
CREATE INDEX cohort_members_user_idx ON game.cohort_members (user_id);

CREATE TABLE game.drafts (
    user_id     uuid NOT NULL,
    task_slug   text NOT NULL,
    language    text NOT NULL,
    code        text NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, task_slug, language)
);

-- Bumped whenever leaderboard membership changes in a way Redis cannot apply
-- incrementally (opt-out, cohort membership); a Redis board whose marker
-- holds another generation is rebuilt.
CREATE TABLE game.leaderboard_generation (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation  bigint NOT NULL
);
-- A random start, so two databases sharing one Redis never agree by chance.
INSERT INTO game.leaderboard_generation (generation) VALUES ((random() * 1e15)::bigint);
