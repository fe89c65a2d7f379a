-- The incremental sync keeps a second position per cursor: how far the deletions of that side
-- (CRM's deleted-records list, Desk's recycle bin) have been read. Both are UTC.
alter table cursors add column deleted_position timestamptz;
