-- 0004: the hash-chained audit log (DESIGN.md "evidence/"). Every SCIM write, operation and task
-- transition, step, probe, and admin change is appended by a trigger, so no code path can skip it.
--
-- One row per entry. `entry` is the exact text that was hashed: a JSON object holding seq, at,
-- actor, kind, tx (the transaction) and data, so every column of the row is covered by its hash:
--   hash = hex(sha256(utf8(prev_hash || entry)))      the first row's prev_hash is 64 zeros.
-- src/evidence/audit-chain.ts verifies it; the columns beside `entry` are there to query by.
--
-- Capture: constraint triggers, DEFERRABLE INITIALLY DEFERRED, so entries are appended at COMMIT,
-- after the transaction has taken every row lock it will take. Appends are serialized by an
-- advisory lock held from then to the end of the commit: the chain is linear across connections
-- and replicas, and a transaction waiting for the audit lock never holds a lock that the holder
-- needs (an immediate trigger would take the audit lock mid-transaction and could deadlock with a
-- worker's checkpoint). A rolled-back transaction or savepoint appends nothing.
--
-- The actor: `select set_config('scim_bridge.actor', <who>, true)` in the transaction
-- (audit-repo.ts asActor); unset → 'engine' for operations and tasks, 'system' otherwise. Entries
-- are written at commit, so one transaction has one actor (the last one set).
--
-- Never recorded: secrets, their digests, target config values (only which fields changed), SCIM
-- resources beyond ids, userName, externalId, active and the names of the attributes that changed.

create table audit_log (
  seq        bigint primary key,
  at         timestamptz not null,
  actor      text not null,
  kind       text not null,
  entry      text not null,
  prev_hash  text not null,
  hash       text not null
);
create index audit_log_at on audit_log (at);

-- The text form of `at` inside an entry: UTC, microseconds, whatever the session's TimeZone.
create function audit_time_text(t timestamptz) returns text language sql immutable strict parallel safe as
$$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Appends one entry at the end of the chain. Called by the capture triggers, and by the admin API
-- for actions that change no row (call it last in its transaction: it holds the audit lock to commit).
create function audit_append(p_kind text, p_data jsonb, p_default_actor text default 'system') returns bigint
language plpgsql as $$
declare
  last_seq  bigint;
  last_hash text;
  v_seq     bigint;
  v_prev    text;
  v_at      timestamptz;
  v_actor   text := coalesce(nullif(current_setting('scim_bridge.actor', true), ''), p_default_actor);
  v_entry   text;
begin
  -- The audit lock: any key will do as long as every replica uses the same one (not the migration's 76442026).
  perform pg_advisory_xact_lock(76442200);
  -- After the lock, so this statement's snapshot sees the previous holder's committed row.
  select seq, hash into last_seq, last_hash from audit_log order by seq desc limit 1;
  v_seq := coalesce(last_seq, 0) + 1;
  v_prev := coalesce(last_hash, repeat('0', 64));
  v_at := clock_timestamp();
  v_entry := jsonb_build_object('seq', v_seq, 'at', audit_time_text(v_at), 'actor', v_actor, 'kind', p_kind,
                                'tx', pg_current_xact_id()::text, 'data', coalesce(p_data, '{}'::jsonb))::text;
  insert into audit_log (seq, at, actor, kind, entry, prev_hash, hash)
  values (v_seq, v_at, v_actor, p_kind, v_entry, v_prev, encode(sha256(convert_to(v_prev || v_entry, 'UTF8')), 'hex'));
  return v_seq;
end $$;

-- Append-only: UPDATE, DELETE and TRUNCATE are refused, superusers included, unless the
-- transaction deliberately sets scim_bridge.audit_maintenance = 'on'. Whatever is changed that
-- way (or with this trigger disabled) still breaks the chain, and verification names the row.
create function audit_log_refuse() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('scim_bridge.audit_maintenance', true), '') <> 'on' then
    raise exception 'audit_log is append-only: % refused', tg_op
      using errcode = '42501',
            hint = 'entries are only appended; a deliberate maintenance transaction sets scim_bridge.audit_maintenance to on first';
  end if;
  return null;
end $$;
create trigger audit_log_append_only before update or delete or truncate on audit_log
  for each statement execute function audit_log_refuse();

-- The names of the top-level keys whose values differ between two JSON objects.
create function audit_changed_keys(a jsonb, b jsonb) returns jsonb language sql immutable parallel safe as $$
  select coalesce(jsonb_agg(k order by k), '[]'::jsonb) from (
    select coalesce(x.key, y.key) as k from jsonb_each(coalesce(a, '{}'::jsonb)) x
    full join jsonb_each(coalesce(b, '{}'::jsonb)) y on x.key = y.key
    where x.value is distinct from y.value) d
$$;

-- SCIM writes ---------------------------------------------------------------------------------

create function audit_scim_user() returns trigger language plpgsql as $$
declare
  r scim_users;
  kind text;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  kind := case tg_op
    when 'INSERT' then 'scim.user.created'
    when 'DELETE' then 'scim.user.deleted'
    else case when old.active and not new.active then 'scim.user.deactivated'
              when not old.active and new.active then 'scim.user.reactivated'
              else 'scim.user.updated' end end;
  perform audit_append(kind, jsonb_build_object('connectionId', r.connection_id, 'id', r.id, 'userName', r.user_name,
      'externalId', r.external_id, 'active', r.active)
    || case when tg_op = 'UPDATE' then jsonb_build_object('changed', audit_changed_keys(old.resource, new.resource))
         || case when old.user_name is distinct from new.user_name then jsonb_build_object('userNameBefore', old.user_name) else '{}' end
       else '{}' end);
  return null;
end $$;
create constraint trigger audit_scim_users_write after insert or delete on scim_users
  deferrable initially deferred for each row execute function audit_scim_user();
create constraint trigger audit_scim_users_update after update on scim_users
  deferrable initially deferred for each row
  when ((old.user_name, old.external_id, old.active, old.resource) is distinct from (new.user_name, new.external_id, new.active, new.resource))
  execute function audit_scim_user();

create function audit_scim_group() returns trigger language plpgsql as $$
declare
  r scim_groups;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  perform audit_append(case tg_op when 'INSERT' then 'scim.group.created' when 'DELETE' then 'scim.group.deleted' else 'scim.group.updated' end,
    jsonb_build_object('connectionId', r.connection_id, 'id', r.id, 'displayName', r.display_name, 'externalId', r.external_id)
    || case when tg_op = 'UPDATE' then jsonb_build_object('changed', audit_changed_keys(old.resource, new.resource)) else '{}' end);
  return null;
end $$;
create constraint trigger audit_scim_groups_write after insert or delete on scim_groups
  deferrable initially deferred for each row execute function audit_scim_group();
create constraint trigger audit_scim_groups_update after update on scim_groups
  deferrable initially deferred for each row
  when ((old.display_name, old.external_id, old.resource) is distinct from (new.display_name, new.external_id, new.resource))
  execute function audit_scim_group();

create function audit_scim_member() returns trigger language plpgsql as $$
declare
  r scim_group_members;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  perform audit_append(case tg_op when 'INSERT' then 'scim.group.member-added' else 'scim.group.member-removed' end,
    jsonb_build_object('connectionId', r.connection_id, 'groupId', r.group_id, 'memberId', r.member_id, 'memberType', r.member_type));
  return null;
end $$;
create constraint trigger audit_scim_group_members_write after insert or delete on scim_group_members
  deferrable initially deferred for each row execute function audit_scim_member();

-- Operations and tasks (actor 'engine' unless set) --------------------------------------------

create function audit_operation() returns trigger language plpgsql as $$
declare
  r operations;
  base jsonb;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  base := jsonb_build_object('id', r.id, 'connectionId', r.connection_id, 'subjectId', r.subject_id, 'userName', r.user_name, 'kind', r.kind);
  if tg_op = 'INSERT' then
    perform audit_append('operation.created', base || jsonb_strip_nulls(jsonb_build_object('status', r.status, 'reason', r.reason, 'groupId', r.group_id)), 'engine');
  elsif tg_op = 'DELETE' then
    perform audit_append('operation.deleted', base || jsonb_build_object('status', r.status), 'engine');
  else
    if old.kind is distinct from new.kind then
      perform audit_append('operation.extended', base || jsonb_build_object('kindBefore', old.kind, 'extendedBy', new.extended_by), 'engine');
    end if;
    if (old.status, old.reason, old.decided_by, old.decision_note) is distinct from (new.status, new.reason, new.decided_by, new.decision_note) then
      perform audit_append('operation.' || new.status, base || jsonb_build_object('status', new.status, 'statusBefore', old.status)
        || jsonb_strip_nulls(jsonb_build_object('reason', new.reason, 'decidedBy', new.decided_by, 'note', new.decision_note)), 'engine');
    end if;
  end if;
  return null;
end $$;
create constraint trigger audit_operations_write after insert or delete on operations
  deferrable initially deferred for each row execute function audit_operation();
create constraint trigger audit_operations_update after update on operations
  deferrable initially deferred for each row
  when ((old.kind, old.status, old.reason, old.decided_by, old.decision_note) is distinct from (new.kind, new.status, new.reason, new.decided_by, new.decision_note))
  execute function audit_operation();

-- A task row changes often (a checkpoint after every step, lease renewals): only the columns below
-- make entries; locked_by / locked_until / updated_at / attempts alone never do.
create function audit_task() returns trigger language plpgsql as $$
declare
  r tasks;
  base jsonb;
  made boolean := false;
  i int;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  base := jsonb_build_object('id', r.id, 'operationId', r.operation_id, 'targetId', r.target_id);
  if tg_op = 'INSERT' then
    perform audit_append('task.created', base || jsonb_build_object('intent', r.intent, 'state', r.state, 'held', r.held,
      'dryRun', r.dry_run, 'deadlineAt', audit_time_text(r.deadline_at)), 'engine');
    return null;
  elsif tg_op = 'DELETE' then
    perform audit_append('task.deleted', base || jsonb_build_object('state', r.state), 'engine');
    return null;
  end if;
  if old.intent is distinct from new.intent then
    perform audit_append('task.retargeted', base || jsonb_build_object('intent', new.intent, 'intentBefore', old.intent), 'engine');
    made := true;
  end if;
  if old.account is distinct from new.account and new.account is not null then
    perform audit_append('task.account', base || jsonb_build_object('found', coalesce((new.account ->> 'found')::boolean, false))
      || jsonb_strip_nulls(jsonb_build_object('accountId', new.account #>> '{account,id}', 'evidence', new.account ->> 'evidence')), 'engine');
    made := true;
  end if;
  -- Each step not recorded before, in order (the array only grows; a changed element counts as new).
  for i in 0 .. coalesce(jsonb_array_length(new.steps), 0) - 1 loop
    if old.steps -> i is distinct from new.steps -> i then
      perform audit_append('task.step', base || jsonb_build_object('index', i, 'step', new.steps -> i), 'engine');
      made := true;
    end if;
  end loop;
  if old.evidence is distinct from new.evidence and new.evidence is not null then
    perform audit_append('task.probe', base || jsonb_build_object('probe', new.probes, 'evidence', new.evidence), 'engine');
    made := true;
  end if;
  if old.last_error_at is distinct from new.last_error_at and new.last_error is not null then
    perform audit_append('task.error', base || jsonb_build_object('error', new.last_error, 'errorKind', new.last_error_kind,
      'attempts', new.attempts, 'runAt', audit_time_text(new.run_at)), 'engine');
    made := true;
  end if;
  if old.held is distinct from new.held then
    perform audit_append(case when new.held then 'task.held' else 'task.released' end,
      base || jsonb_build_object('runAt', audit_time_text(new.run_at), 'deadlineAt', audit_time_text(new.deadline_at)), 'engine');
    made := true;
  end if;
  if old.state is distinct from new.state or (new.state = 'escalated' and old.reason is distinct from new.reason) then
    perform audit_append('task.' || new.state, base || jsonb_build_object('state', new.state, 'stateBefore', old.state)
      || jsonb_strip_nulls(jsonb_build_object('reason', new.reason)), 'engine');
    made := true;
  end if;
  if old.resolution is distinct from new.resolution and new.resolution is not null then
    perform audit_append('task.resolved', base || jsonb_build_object('resolution', new.resolution), 'engine');
    made := true;
  end if;
  if not made then
    -- run_at or deadline_at alone: a person's "retry now", or another reschedule.
    perform audit_append('task.rescheduled', base || jsonb_build_object('runAt', audit_time_text(new.run_at),
      'deadlineAt', audit_time_text(new.deadline_at), 'attempts', new.attempts), 'engine');
  end if;
  return null;
end $$;
create constraint trigger audit_tasks_write after insert or delete on tasks
  deferrable initially deferred for each row execute function audit_task();
create constraint trigger audit_tasks_update after update on tasks
  deferrable initially deferred for each row
  when ((old.state, old.held, old.intent, old.account, old.steps, old.evidence, old.last_error_at, old.reason, old.resolution, old.run_at, old.deadline_at)
        is distinct from
        (new.state, new.held, new.intent, new.account, new.steps, new.evidence, new.last_error_at, new.reason, new.resolution, new.run_at, new.deadline_at))
  execute function audit_task();

-- Admin changes (never a secret, a digest, or a target config value) --------------------------

create function audit_target() returns trigger language plpgsql as $$
declare
  r targets;
  policy jsonb;
  cols jsonb := '[]';
begin
  r := case when tg_op = 'DELETE' then old else new end;
  policy := jsonb_build_object('deactivate', r.deactivate_action, 'slaMs', r.sla_ms, 'scopeGroups', to_jsonb(r.scope_groups),
    'entitlements', r.entitlements, 'mode', r.mode, 'maxConcurrency', r.max_concurrency, 'maxRequestsPerSec', r.max_requests_per_sec);
  if tg_op = 'UPDATE' then
    cols := audit_changed_keys(
      jsonb_build_object('name', old.name, 'kind', old.kind, 'config', old.config, 'deactivate', old.deactivate_action, 'slaMs', old.sla_ms,
        'scopeGroups', to_jsonb(old.scope_groups), 'entitlements', old.entitlements, 'mode', old.mode, 'maxConcurrency', old.max_concurrency,
        'maxRequestsPerSec', old.max_requests_per_sec, 'enabled', old.enabled, 'ownerTokenId', old.owner_token_id),
      jsonb_build_object('name', new.name, 'kind', new.kind, 'config', new.config, 'deactivate', new.deactivate_action, 'slaMs', new.sla_ms,
        'scopeGroups', to_jsonb(new.scope_groups), 'entitlements', new.entitlements, 'mode', new.mode, 'maxConcurrency', new.max_concurrency,
        'maxRequestsPerSec', new.max_requests_per_sec, 'enabled', new.enabled, 'ownerTokenId', new.owner_token_id));
  end if;
  perform audit_append(case tg_op when 'INSERT' then 'target.created' when 'DELETE' then 'target.deleted' else 'target.updated' end,
    jsonb_build_object('id', r.id, 'connectionId', r.connection_id, 'name', r.name, 'kind', r.kind, 'enabled', r.enabled,
      'ownerTokenId', r.owner_token_id, 'policy', policy,
      'configFields', coalesce((select jsonb_agg(k order by k) from jsonb_object_keys(r.config) k), '[]'::jsonb))
    || case when tg_op = 'UPDATE' then jsonb_build_object('changed', cols, 'configChanged', audit_changed_keys(old.config, new.config)) else '{}' end);
  return null;
end $$;
create constraint trigger audit_targets_write after insert or delete on targets
  deferrable initially deferred for each row execute function audit_target();
-- Not the engine's health columns (paused_until, pause_reason, consecutive_failures): they change
-- with every failure and are not admin changes.
create constraint trigger audit_targets_update after update on targets
  deferrable initially deferred for each row
  when ((old.name, old.kind, old.config, old.deactivate_action, old.sla_ms, old.scope_groups, old.entitlements, old.mode,
         old.max_concurrency, old.max_requests_per_sec, old.enabled, old.owner_token_id)
        is distinct from
        (new.name, new.kind, new.config, new.deactivate_action, new.sla_ms, new.scope_groups, new.entitlements, new.mode,
         new.max_concurrency, new.max_requests_per_sec, new.enabled, new.owner_token_id))
  execute function audit_target();

create function audit_connection() returns trigger language plpgsql as $$
declare
  r connections;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  perform audit_append(case tg_op when 'INSERT' then 'connection.created' when 'DELETE' then 'connection.deleted' else 'connection.updated' end,
    jsonb_build_object('id', r.id, 'name', r.name));
  return null;
end $$;
create constraint trigger audit_connections_write after insert or delete on connections
  deferrable initially deferred for each row execute function audit_connection();
create constraint trigger audit_connections_update after update on connections
  deferrable initially deferred for each row when (old.name is distinct from new.name) execute function audit_connection();

-- last_used_at changes on use: not an admin change.
create function audit_credential() returns trigger language plpgsql as $$
declare
  r credentials;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  perform audit_append(case when tg_op = 'INSERT' then 'credential.created' when tg_op = 'DELETE' then 'credential.deleted'
                            when old.revoked_at is null and new.revoked_at is not null then 'credential.revoked' else 'credential.updated' end,
    jsonb_build_object('id', r.id, 'connectionId', r.connection_id, 'credentialKind', r.kind)
    || jsonb_strip_nulls(jsonb_build_object('label', r.label, 'username', r.basic_username,
         'issuer', r.jwt ->> 'issuer', 'audience', r.jwt -> 'audience', 'jwksUrl', r.jwt ->> 'jwksUrl')));
  return null;
end $$;
create constraint trigger audit_credentials_write after insert or delete on credentials
  deferrable initially deferred for each row execute function audit_credential();
create constraint trigger audit_credentials_update after update on credentials
  deferrable initially deferred for each row
  when ((old.label, old.revoked_at, old.jwt, old.basic_username) is distinct from (new.label, new.revoked_at, new.jwt, new.basic_username))
  execute function audit_credential();

create function audit_admin_token() returns trigger language plpgsql as $$
declare
  r admin_tokens;
begin
  r := case when tg_op = 'DELETE' then old else new end;
  perform audit_append(case when tg_op = 'INSERT' then 'admin-token.created' when tg_op = 'DELETE' then 'admin-token.deleted'
                            when old.revoked_at is null and new.revoked_at is not null then 'admin-token.revoked' else 'admin-token.updated' end,
    jsonb_build_object('id', r.id, 'name', r.name, 'role', r.role));
  return null;
end $$;
create constraint trigger audit_admin_tokens_write after insert or delete on admin_tokens
  deferrable initially deferred for each row execute function audit_admin_token();
create constraint trigger audit_admin_tokens_update after update on admin_tokens
  deferrable initially deferred for each row
  when ((old.name, old.role, old.revoked_at) is distinct from (new.name, new.role, new.revoked_at))
  execute function audit_admin_token();

-- TRUNCATE skips row triggers: record that it happened.
create function audit_truncate() returns trigger language plpgsql as $$
begin
  perform audit_append('maintenance.truncated', jsonb_build_object('table', tg_table_name));
  return null;
end $$;
create trigger audit_truncate after truncate on scim_users for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on scim_groups for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on scim_group_members for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on operations for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on tasks for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on targets for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on connections for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on credentials for each statement execute function audit_truncate();
create trigger audit_truncate after truncate on admin_tokens for each statement execute function audit_truncate();
