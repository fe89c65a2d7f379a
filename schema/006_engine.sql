-- The engine reads what it needs from the index: each record's counterpart-id field (CRM
-- Desk_ID, Desk cf_crm_id: which links the apps show) and the values that did not fit their
-- mapped type (logged when the record is synced, its other fields syncing meanwhile).
alter table index_records add column counterpart_id text, add column problems jsonb;
-- The match step walks the index key by key, both sides together.
create index index_records_match on index_records (integration_id, module, match_key) where match_key is not null;
