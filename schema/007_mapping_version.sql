-- Every change of an integration's stored mapping bumps its version, so that each worker's
-- cache of the resolved mapping knows at once that it is stale (a mapping imported through
-- another worker or the starter).
alter table integrations add column mapping_version bigint not null default 0;
