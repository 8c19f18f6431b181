-- Classes: a cohort that teachers run. Its members are the cohort's
-- members (game.cohort_members), its all-time board the cohort's board; a
-- class adds teachers, a time zone, a join code, invitations and
-- assignments. Grades are never stored: they are computed from
-- game.submissions when read, so a changed due date or policy applies to
-- every submission.
CREATE TABLE game.classes (
    slug         text PRIMARY KEY REFERENCES game.cohorts (slug) ON DELETE CASCADE,
    time_zone    text NOT NULL,
    join_code    text NOT NULL UNIQUE,
    archived_at  timestamptz
);

CREATE TABLE game.class_teachers (
    class_slug  text NOT NULL REFERENCES game.classes (slug) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (class_slug, user_id)
);
CREATE INDEX class_teachers_user_idx ON game.class_teachers (user_id);

-- Mailed invitations: the token is stored as its SHA-256, single use.
CREATE TABLE game.class_invites (
    token_hash   text PRIMARY KEY,
    class_slug   text NOT NULL REFERENCES game.classes (slug) ON DELETE CASCADE,
    email        text NOT NULL,
    invited_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_by  uuid,
    accepted_at  timestamptz
);
-- One open invitation per address and class: inviting again replaces it.
CREATE UNIQUE INDEX class_invites_open_idx ON game.class_invites (class_slug, email)
    WHERE accepted_at IS NULL;

CREATE TABLE game.assignments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    class_slug    text NOT NULL REFERENCES game.classes (slug) ON DELETE CASCADE,
    title         text NOT NULL,
    description   text NOT NULL,
    task_slugs    text[] NOT NULL,
    opens_at      timestamptz NOT NULL,
    due_at        timestamptz NOT NULL CHECK (due_at > opens_at),
    late_policy   smallint NOT NULL CHECK (late_policy BETWEEN 1 AND 3),  -- LatePolicy
    late_penalty  integer NOT NULL CHECK (late_penalty BETWEEN 0 AND 100),
    remind_hours  integer NOT NULL CHECK (remind_hours BETWEEN 0 AND 336),
    created_by    uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX assignments_class_idx ON game.assignments (class_slug, due_at);
CREATE INDEX assignments_due_idx ON game.assignments (due_at);

-- Reminder mails sent: at most one per assignment and learner, even with
-- several replicas (the row is written before the mail is queued).
CREATE TABLE game.assignment_reminders (
    assignment_id  uuid NOT NULL REFERENCES game.assignments (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL,
    sent_at        timestamptz NOT NULL,
    PRIMARY KEY (assignment_id, user_id)
);

-- When a learner first opened a task: where "time to solve" starts.
CREATE TABLE game.task_opens (
    user_id          uuid NOT NULL,
    task_slug        text NOT NULL,
    first_opened_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, task_slug)
);

-- A learner's submissions of one task, for grades and the dashboard.
CREATE INDEX submissions_user_task_idx ON game.submissions (user_id, task_slug, created_at);
