-- 0005: signed receipts (DESIGN.md "evidence/"). A receipt is a compact JWS, signed with the bridge's
-- Ed25519 key, of what was done and observed for one completed operation. Words as in DESIGN.md.

-- The bridge's receipt signing keys. The current key (retired_at null) signs; retired keys no longer
-- sign but stay published in /.well-known/jwks.json, so every receipt ever issued still verifies.
create table receipt_keys (
  kid             text primary key,        -- RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key
  public_jwk      jsonb not null,          -- {kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig"}
  private_sealed  jsonb not null,          -- the private JWK sealed by the secret box: {"$sealed": "v1.…"}
  created_at      timestamptz not null,
  retired_at      timestamptz
);
-- At most one current key: two replicas starting at once cannot both create a first key
-- (the loser's insert does nothing and it reads the winner's key).
create unique index receipt_keys_current on receipt_keys ((true)) where retired_at is null;

-- One receipt per operation, issued once and never rewritten.
create table receipts (
  operation_id  uuid primary key references operations(id) on delete cascade,
  kid           text not null references receipt_keys(kid),
  jws           text not null,
  issued_at     timestamptz not null
);

-- When the receipt issuer settled an operation: it issued its receipt, or found that it will never
-- have one (a task cancelled by a reactivation or an operator, no target in scope). Operations not
-- yet settled are the issuer's only candidates, so its sweep reads a small partial index (the
-- released operations still in flight) however many operations the bridge has ever recorded.
alter table operations add column receipt_settled_at timestamptz;
create index operations_receipt_due on operations (created_at, id) where status = 'released' and receipt_settled_at is null;
