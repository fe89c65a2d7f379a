-- The initial sync indexes both sides here (one row per record created within the
-- lookback), matches in SQL, and works off the rows that have no link yet.
create table index_records (
    integration_id text not null references integrations (id),
    module         text not null check (module in ('contacts', 'accounts')),
    side           text not null check (side in ('desk', 'crm')),
    record_id      text not null,
    match_key      text,           -- normalised email or account name; null never matches
    created_time   timestamptz not null,
    modified_time  timestamptz not null,
    vals           jsonb not null, -- canonical mapped values
    primary key (integration_id, module, side, record_id)
);
create index index_records_key on index_records (integration_id, module, side, match_key) where match_key is not null;

-- Cursors of the incremental sync per module and side, checkpointed after each committed pass
-- so that a terminated-then-restarted workflow carries on where the last one stopped.
create table cursors (
    integration_id text not null references integrations (id),
    module         text not null check (module in ('contacts', 'accounts')),
    side           text not null check (side in ('desk', 'crm')),
    position       timestamptz not null,
    updated_at     timestamptz not null default now(),
    primary key (integration_id, module, side)
);

-- A failure whose record the admin asked to retry stops excluding that record from the next
-- pass; a new failure of the same record clears the flag again and counts one more attempt.
alter table sync_failures add column retrying boolean not null default false;
