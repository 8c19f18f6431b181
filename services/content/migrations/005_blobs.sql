-- Test data by SHA-256 (content.proto "Blobs").
--
-- An upload is one uploader's copy of one blob while it arrives, in chunks
-- keyed by their offset. When its last byte is in and the hash matches, it
-- becomes the blob's storage (content.blobs points at it) unless the blob is
-- stored already, in which case it is dropped: the data is kept once, and
-- the uploader becomes an owner either way.
--
-- Chunks of bytea rather than large objects: they live in this schema (large
-- objects live in pg_largeobject, shared by the whole database, outside any
-- service's schema and its migrations), are written and read with ordinary
-- prepared statements, go away with their upload (ON DELETE CASCADE, no
-- lo_unlink to forget), and each statement moves at most a few MiB, so
-- neither side ever holds a whole blob. STORAGE EXTERNAL: TOAST stores them
-- out of line without trying to compress them (test data is often already
-- dense, and pglz over 256 MiB costs more CPU than the disk it saves).
CREATE TABLE content.blob_uploads (
    id bigserial PRIMARY KEY,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    owner text NOT NULL,             -- the uploader's account id; '' for a service
    size bigint NOT NULL CHECK (size > 0),
    received bigint NOT NULL DEFAULT 0,
    complete boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One upload in progress per uploader and blob.
CREATE UNIQUE INDEX blob_uploads_pending ON content.blob_uploads (sha256, owner)
    WHERE NOT complete;
CREATE INDEX blob_uploads_stale ON content.blob_uploads (updated_at) WHERE NOT complete;

CREATE TABLE content.blob_chunks (
    upload_id bigint NOT NULL REFERENCES content.blob_uploads (id) ON DELETE CASCADE,
    off bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (upload_id, off)
);
ALTER TABLE content.blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Complete blobs: their size and the upload that holds their bytes.
CREATE TABLE content.blobs (
    sha256 text PRIMARY KEY,
    size bigint NOT NULL,
    upload_id bigint NOT NULL REFERENCES content.blob_uploads (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Who uploaded a complete blob (and so may reference it from a task).
CREATE TABLE content.blob_owners (
    sha256 text NOT NULL REFERENCES content.blobs (sha256),
    owner text NOT NULL,
    PRIMARY KEY (sha256, owner)
);
