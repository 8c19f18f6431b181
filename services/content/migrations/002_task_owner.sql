-- The author who created a task through the API: they see the analytics of
-- their own tasks. NULL for tasks from files.
ALTER TABLE content.tasks ADD COLUMN owner_id uuid;
