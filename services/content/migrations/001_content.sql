-- Tasks with their versions, and achievement definitions.

-- One row per task: its state and, denormalised for listings, the fields of
-- its current version.
CREATE TABLE content.tasks (
    slug              text PRIMARY KEY,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Why an archived task is archived: 'author' (ArchiveTask) or 'missing'
    -- (its file disappeared; it comes back when the file does).
    archived_reason   text NOT NULL DEFAULT '' CHECK (archived_reason IN ('', 'author', 'missing')),
    -- 'file' for tasks loaded from task files (start-up, import), 'api' for
    -- tasks created through CreateTask.
    source            text NOT NULL CHECK (source IN ('file', 'api')),
    current_version   integer NOT NULL CHECK (current_version > 0),
    title             text NOT NULL,
    difficulty        smallint NOT NULL CHECK (difficulty BETWEEN 1 AND 3),
    points            integer NOT NULL,
    tags              text[] NOT NULL,
    languages         text[] NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_listing_idx ON content.tasks (difficulty, title, slug);

-- Every version ever stored; a (slug, version) pair never changes meaning.
-- `task` is the canonical JSON (sorted keys, compact) whose SHA-256 is
-- content_hash.
CREATE TABLE content.task_versions (
    slug         text NOT NULL REFERENCES content.tasks (slug),
    version      integer NOT NULL CHECK (version > 0),
    content_hash text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    task         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (slug, version)
);

-- Achievement definitions. `def` is the canonical JSON of the file; a
-- definition whose file disappeared is retired (active = false), never
-- deleted, since learners may hold it.
CREATE TABLE content.achievements (
    slug         text PRIMARY KEY,
    def          text NOT NULL,
    content_hash text NOT NULL,
    sort_order   integer NOT NULL,
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
