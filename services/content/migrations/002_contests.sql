-- Contest definitions, and which tasks each one hides until it starts.

-- The current definition of each contest (canonical JSON, as for tasks);
-- `version` grows by one whenever content_hash changes. Contests are never
-- deleted or archived by a missing file: their results refer to them.
CREATE TABLE content.contests (
    slug          text PRIMARY KEY,
    source        text NOT NULL CHECK (source IN ('file', 'api')),
    version       integer NOT NULL CHECK (version > 0),
    content_hash  text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    def           text NOT NULL,
    start_at      timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The problem set's tasks; hidden_until is the contest's start when it hides
-- its tasks until then (NULL otherwise). Learner reads skip a task while any
-- of its rows has hidden_until in the future.
CREATE TABLE content.contest_tasks (
    contest_slug  text NOT NULL REFERENCES content.contests (slug) ON DELETE CASCADE,
    task_slug     text NOT NULL,
    hidden_until  timestamptz,
    PRIMARY KEY (contest_slug, task_slug)
);
CREATE INDEX contest_tasks_hidden_idx ON content.contest_tasks (task_slug)
    WHERE hidden_until IS NOT NULL;
