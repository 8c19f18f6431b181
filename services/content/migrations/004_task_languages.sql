-- Whether a task accepts only its listed languages (restrict_languages in
-- the task file). False for every task stored before: they accept every
-- language of the catalogue.
ALTER TABLE content.tasks ADD COLUMN restrict_languages boolean NOT NULL DEFAULT false;
