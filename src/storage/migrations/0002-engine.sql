-- 0002: the deprovisioning engine. Words as in DESIGN.md: a target is a registered instance of a
-- connector kind; an operation is one event for one subject; a task is its work in one target.
-- Times are written from the engine's clock (parameters), never from now(), so tests control them.

create table targets (
  id                     uuid primary key,
  connection_id          uuid not null references connections(id) on delete cascade,
  name                   text not null check (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  kind                   text not null,
  config                 jsonb not null default '{}',
  deactivate_action      text not null default 'disable' check (deactivate_action in ('disable', 'delete')),
  sla_ms                 integer not null default 900000 check (sla_ms > 0),
  scope_groups           uuid[],                      -- null: every user of the connection
  entitlements           jsonb not null default '{}', -- IdP group id → target-side entitlement
  mode                   text not null default 'live' check (mode in ('live', 'dry-run')),
  max_concurrency        integer not null default 4 check (max_concurrency > 0),
  max_requests_per_sec   real check (max_requests_per_sec is null or max_requests_per_sec > 0),
  enabled                boolean not null default true,
  -- No call to the target before this moment, from any worker or replica: a Retry-After, or the breaker.
  paused_until           timestamptz,
  pause_reason           text,
  consecutive_failures   integer not null default 0,
  created_at             timestamptz not null default now(),
  unique (connection_id, name)
);
create index targets_connection on targets (connection_id) where enabled;

create table operations (
  id               uuid primary key,
  connection_id    uuid not null references connections(id) on delete cascade,
  subject_id       uuid not null,          -- the SCIM user id (the row may be gone after a delete)
  user_name        text not null,
  kind             text not null check (kind in ('deactivate', 'delete', 'revoke-entitlement')),
  group_id         uuid,                   -- revoke-entitlement: the IdP group the subject left
  -- held: the mass-deprovisioning guard stopped it; released: running or done; rejected: an operator
  -- said no; cancelled: a reactivation (or an operator) superseded it. Progress lives in its tasks.
  status           text not null default 'released' check (status in ('held', 'released', 'rejected', 'cancelled')),
  reason           text,                   -- why it was held, rejected or cancelled
  subject          jsonb not null,         -- what connectors see (connector-kit Subject), kept after a delete
  created_at       timestamptz not null,
  extended_at      timestamptz,            -- a deactivate extended into a delete
  extended_by      uuid,                   -- the event that extended it
  decided_by       text,                   -- who approved or rejected a held operation
  decided_at       timestamptz,
  decision_note    text
);
create index operations_subject on operations (connection_id, lower(user_name), created_at desc);
create index operations_subject_id on operations (connection_id, subject_id);
create index operations_guard on operations (connection_id, created_at) where kind in ('deactivate', 'delete');
create index operations_held on operations (connection_id) where status = 'held';

create table tasks (
  id               uuid primary key,
  operation_id     uuid not null references operations(id) on delete cascade,
  target_id        uuid not null references targets(id) on delete cascade,
  intent           jsonb not null,         -- connector-kit Intent
  state            text not null default 'queued'
                   check (state in ('queued', 'revoking', 'verifying', 'verified', 'escalated', 'cancelled')),
  held             boolean not null default false,  -- mirrors its operation being held: the claim skips it
  dry_run          boolean not null default false,
  run_at           timestamptz not null,
  deadline_at      timestamptz not null,
  attempts         integer not null default 0,      -- failed attempts in a row (reset on progress)
  probes           integer not null default 0,
  account          jsonb,                  -- {found: false} or {found: true, account}
  steps            jsonb not null default '[]',     -- [{name, outcome, at}] completed, in order
  last_error       text,
  last_error_kind  text,
  last_error_at    timestamptz,
  evidence         jsonb,                  -- the last probe: {revoked, evidence, at, observed}
  reason           text,                   -- why it was escalated or cancelled
  locked_by        text,
  locked_until     timestamptz,
  escalated_at     timestamptz,
  resolution       jsonb,                  -- {by, at, note}: a person closed the escalation
  created_at       timestamptz not null,
  updated_at       timestamptz not null,
  verified_at      timestamptz,
  unique (operation_id, target_id)
) with (fillfactor = 70); -- a task row is updated a few times in its life: room for HOT updates
-- The queue: due, unheld, open tasks in order. Workers claim from it with FOR UPDATE SKIP LOCKED.
create index tasks_due on tasks (run_at) where state in ('queued', 'revoking', 'verifying', 'escalated') and not held and resolution is null;
-- The claim looks up each target's earliest due tasks on their own: one slow target's backlog never hides the others.
create index tasks_due_by_target on tasks (target_id, run_at) where state in ('queued', 'revoking', 'verifying', 'escalated') and not held and resolution is null;
create index tasks_operation on tasks (operation_id);
create index tasks_target_open on tasks (target_id) where state in ('queued', 'revoking', 'verifying', 'escalated');

-- Escalations to announce: an outbox written in the escalating statement, delivered by the notifier.
create table escalation_notices (
  id            bigserial primary key,
  task_id       uuid not null references tasks(id) on delete cascade,
  body          jsonb not null,
  created_at    timestamptz not null,
  attempts      integer not null default 0,
  next_at       timestamptz not null,
  delivered_at  timestamptz,
  last_error    text
);
create index escalation_notices_due on escalation_notices (next_at) where delivered_at is null;
