-- The open failures of a record, by its id on either side: the create steps leave out records
-- with one (Unlinked), the reconcile step pairs with one on either id (UnreconciledPairs), and
-- the incremental pass asks when a batch's records last failed (FailedSince). Postgres hashes
-- the open failures once for a large batch; for the few records of an incremental pass it can
-- now probe these instead of reading every open failure of the integration.
create index sync_failures_open_desk on sync_failures (integration_id, module, desk_id) where resolved_at is null;
create index sync_failures_open_crm on sync_failures (integration_id, module, crm_id) where resolved_at is null;
