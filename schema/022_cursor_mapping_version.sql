-- The mapping version each side's cursor was read with (store.Cursor.MappingVersion): a pass
-- that finds the mapping changed since reads that side's whole look-back again, so that a field
-- newly mapped is carried, and a value it cannot carry flagged, without waiting for each record
-- to change. Null for cursors saved before this column (no read-again on upgrade).
alter table cursors add column mapping_version bigint;
