-- Core tables: integrations, their field mappings, the links between Desk and CRM records,
-- and the sync history and failure log that outlive workflow runs.

create table integrations (
    id            text primary key check (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    mode          text not null default 'two-way' check (mode in ('two-way', 'one-way-crm-to-desk', 'legacy-import')),
    state         text not null default 'active' check (state in ('active', 'paused', 'deleted')),
    paused_reason text,
    lookback      interval not null default '1 year',
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    deleted_at    timestamptz
);

-- One row per mapped field pair. Standard fields come from the built-in default mapping;
-- rows here are the admin's version of the whole mapping for a module once edited.
create table field_mappings (
    integration_id text not null references integrations (id),
    module         text not null check (module in ('contacts', 'accounts')),
    desk_field     text not null,
    crm_field      text not null,
    direction      text not null default 'both' check (direction in ('both', 'crm-to-desk', 'desk-to-crm')),
    policy         text not null default 'newest' check (policy in ('newest', 'crm-wins', 'desk-wins')),
    position       int not null default 0,
    primary key (integration_id, module, desk_field, crm_field)
);

-- A link joins a Desk record and a CRM record. A pending link (one id missing) is written
-- before a create call so that a retried create finds what a lost response created.
create table links (
    id              bigserial primary key,
    integration_id  text not null references integrations (id),
    module          text not null check (module in ('contacts', 'accounts')),
    desk_id         text,
    crm_id          text,
    state           text not null default 'linked' check (state in ('pending-desk', 'pending-crm', 'linked')),
    base            jsonb,          -- last-synced canonical values, the base of the 3-way merge
    base_hash       text,
    desk_modified   timestamptz,
    crm_modified    timestamptz,
    desk_deleted    text check (desk_deleted in ('trash', 'permanent')),
    crm_deleted     text check (crm_deleted in ('trash', 'permanent')),
    synced_at       timestamptz,
    created_at      timestamptz not null default now(),
    check (desk_id is not null or crm_id is not null)
);
create unique index links_desk on links (integration_id, module, desk_id) where desk_id is not null;
create unique index links_crm on links (integration_id, module, crm_id) where crm_id is not null;

-- One row per module and direction of each sync pass.
create table sync_runs (
    id             bigserial primary key,
    integration_id text not null references integrations (id),
    workflow_id    text not null,
    run_id         text not null,
    kind           text not null check (kind in ('initial', 'incremental', 'retry')),
    module         text not null check (module in ('contacts', 'accounts')),
    direction      text not null check (direction in ('desk-to-crm', 'crm-to-desk')),
    started_at     timestamptz not null,
    finished_at    timestamptz,
    added          int not null default 0,
    updated        int not null default 0,
    failed         int not null default 0
);
create index sync_runs_recent on sync_runs (integration_id, started_at desc);

-- One row per record that failed for a reason retrying cannot fix.
create table sync_failures (
    id             bigserial primary key,
    integration_id text not null references integrations (id),
    module         text not null check (module in ('contacts', 'accounts')),
    direction      text not null check (direction in ('desk-to-crm', 'crm-to-desk')),
    desk_id        text,
    crm_id         text,
    code           text not null,
    message        text not null,
    attempts       int not null default 1,
    first_at       timestamptz not null default now(),
    last_at        timestamptz not null default now(),
    resolved_at    timestamptz
);
create index sync_failures_open on sync_failures (integration_id) where resolved_at is null;
create unique index sync_failures_one_open on sync_failures (integration_id, module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''))
    where resolved_at is null;
