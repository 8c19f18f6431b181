-- Tracks: ordered sets of tasks for learners to follow (content/tracks/).
-- `def` is the canonical JSON of the file. Only files define tracks, so a
-- load replaces the whole set.
CREATE TABLE content.tracks (
    slug        text PRIMARY KEY,
    def         text NOT NULL,
    sort_order  integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
