-- When a link became pending (a create under way): a retried attempt looks for what a lost
-- response created among the records created since, with the list API, which new records
-- reach at once (search may not find them for a while: Zoho's search index lags).
alter table links add column pending_at timestamptz;
