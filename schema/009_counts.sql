-- What each activity committed, counted in the same transaction as the writes it counts, so
-- that the counts a step or pass reports survive a killed attempt exactly (a retried attempt
-- adds to the same key: its workflow run and activity id).
create table activity_counts (
    key        text not null,
    name       text not null,
    n          bigint not null default 0,
    created_at timestamptz not null default now(),
    primary key (key, name)
);
create index activity_counts_age on activity_counts (created_at);

-- A failure's attempts count real attempts to sync the record, not retries of the activity
-- that met it: last_key is the activity that recorded it last.
alter table sync_failures add column last_key text;

-- A pass records its history lines under its activity's key: a retried attempt that records
-- them again replaces them instead of adding a second line.
alter table sync_runs add column activity_key text;
create unique index sync_runs_activity on sync_runs (activity_key, module, direction) where activity_key is not null;
