-- The teacher role: runs classes (between learner and author).
ALTER TABLE auth.users DROP CONSTRAINT users_role_check;
ALTER TABLE auth.users ADD CONSTRAINT users_role_check
    CHECK (role IN ('learner', 'teacher', 'author', 'admin'));
