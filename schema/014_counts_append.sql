-- Counters are appended, one row per committed write, and summed when read: concurrent writes
-- of one activity no longer queue behind the lock of a single counter row (each waited for the
-- commit of the one before it).
alter table activity_counts drop constraint activity_counts_pkey;
create index activity_counts_key on activity_counts (key, name);
