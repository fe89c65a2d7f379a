-- The conflict log: pairs with a field changed on both sides since the last sync, and which
-- edit each field's rule kept (store.RecordConflicts). Field names, sides and rules only: never
-- the values, which are customer data. key is the activity that decided them (workflow id /
-- run id / activity id): its retries record them once. Kept seven days, as the history.
create table sync_conflicts (
    id             bigserial primary key,
    integration_id text not null references integrations (id),
    key            text not null,
    module         text not null check (module in ('contacts', 'accounts')),
    desk_id        text not null,
    crm_id         text not null,
    fields         jsonb not null,
    at             timestamptz not null default now(),
    unique (key, module, desk_id, crm_id)
);
create index sync_conflicts_recent on sync_conflicts (integration_id, at desc);
