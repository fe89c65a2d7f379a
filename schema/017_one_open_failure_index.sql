-- The open failures of an integration are found through sync_failures_one_open, whose first
-- column is the integration and whose condition is the same (resolved_at is null): the open
-- failure count, the failure log and FailureSummary read it as they read this older index,
-- and the per-id indexes of 016 serve the record lookups. One index fewer to write for each
-- failure recorded or resolved.
drop index if exists sync_failures_open;
