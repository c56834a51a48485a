-- 0006: what the console reads often. The escalations queue: open escalations, oldest first. The
-- live feed: tasks changed since a moment.
create index tasks_open_escalations on tasks (escalated_at, id) where state = 'escalated' and resolution is null;
create index tasks_updated on tasks (updated_at);
-- Exact email lookups (SCIM `emails.value eq`, the console's search) read the GIN index; with
-- fastupdate its pending list grows with every insert until a vacuum, and a lookup scans all of it
-- (11 ms on 100,000 people seeded at once). Entries go straight into the index instead.
alter index scim_users_emails set (fastupdate = off);
select gin_clean_pending_list('scim_users_emails'::regclass);
