-- 0003: each target belongs to the admin token that registered it. An app-owner token manages only
-- the targets it owns; admins manage all. Null: registered before owners existed (admins only).
alter table targets add column owner_token_id uuid references admin_tokens(id) on delete set null;
alter table targets add column updated_at timestamptz;
create index targets_owner on targets (owner_token_id);
