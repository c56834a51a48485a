-- 0006: what the console reads often. The escalations queue: open escalations, oldest first. The
-- live feed: tasks changed since a moment.
create index tasks_open_escalations on tasks (escalated_at, id) where state = 'escalated' and resolution is null;
create index tasks_updated on tasks (updated_at);
