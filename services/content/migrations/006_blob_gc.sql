-- What keeps a blob (blobgc.c collects the rest).
--
-- blob_refs: the blobs each stored task version's tests name (input_sha256,
-- expected_sha256), written by a trigger on task_versions, so every path
-- that stores a version (the file loader, the author API, a package import)
-- keeps them without knowing about it. A version's blobs stay as long as
-- the version: versions are never deleted, so a blob a task ever used is
-- kept (an export or a rejudge of an old version still reads it). The
-- reference is a foreign key on the blob: a version cannot name a blob the
-- collector has just deleted (its insert fails instead), and the collector's
-- FOR UPDATE ... SKIP LOCKED passes over a blob a version is being written
-- with.
--
-- used_at: when the blob last came into use — completed, uploaded again by
-- another author (or the same one), a last reference dropped. A blob no
-- version names is collected once used_at is older than the grace period
-- (DOJO_CONTENT_BLOB_GC_GRACE), which covers the time between an upload (or
-- a package's ParsePackage) and the task that names it being stored.
--
-- The version's JSON is read as json, not jsonb: jsonb refuses a NUL
-- escape anywhere in the text, json reads only what is asked of it.
ALTER TABLE content.blobs ADD COLUMN used_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX blobs_used_at ON content.blobs (used_at);

CREATE TABLE content.blob_refs (
    sha256 text NOT NULL REFERENCES content.blobs (sha256),
    slug text NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (sha256, slug, version),
    FOREIGN KEY (slug, version) REFERENCES content.task_versions (slug, version)
        ON DELETE CASCADE
);
CREATE INDEX blob_refs_version ON content.blob_refs (slug, version);

CREATE FUNCTION content.blob_hashes(task text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT v.h
    FROM json_array_elements(task::json -> 'tests') t,
         LATERAL (VALUES (t ->> 'input_sha256'), (t ->> 'expected_sha256')) v (h)
    WHERE v.h IS NOT NULL AND v.h <> ''
$$;

CREATE FUNCTION content.blob_refs_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO content.blob_refs (sha256, slug, version)
    SELECT h, NEW.slug, NEW.version FROM content.blob_hashes(NEW.task) h
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER task_versions_blob_refs AFTER INSERT ON content.task_versions
    FOR EACH ROW EXECUTE FUNCTION content.blob_refs_add();

-- A blob's last reference gone: its grace period starts now.
CREATE FUNCTION content.blob_refs_dropped() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE content.blobs SET used_at = now() WHERE sha256 = OLD.sha256;
    RETURN OLD;
END
$$;

CREATE TRIGGER blob_refs_dropped AFTER DELETE ON content.blob_refs
    FOR EACH ROW EXECUTE FUNCTION content.blob_refs_dropped();

-- The versions stored before this migration.
INSERT INTO content.blob_refs (sha256, slug, version)
SELECT h, v.slug, v.version
FROM content.task_versions v, content.blob_hashes(v.task) h
WHERE EXISTS (SELECT 1 FROM content.blobs b WHERE b.sha256 = h)
ON CONFLICT DO NOTHING;
