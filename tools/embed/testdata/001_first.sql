-- first: it's "quoted" and has a \ backslash
CREATE TABLE x.t (
	id int, -- tab above
	name text DEFAULT 'café ??= ok'
);
