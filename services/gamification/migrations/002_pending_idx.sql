-- The sweeper (sweeper.c) walks the pending submissions by seq: an index of
-- just those stays as small as the backlog.
CREATE INDEX submissions_pending_idx ON game.submissions (seq) WHERE NOT finished;
