-- The planner never filters, joins or sorts on the records' values (index_records.vals,
-- problems, raw_refs) or on the merge bases of each side (links.base_desk, base_crm): their
-- statistics are of no use, and computing them — sorting thousands of sampled JSON documents —
-- was most of the cost of each ANALYZE the first sync's steps run (store.Analyze,
-- RefreshStatistics). A target of 0 leaves a column out of ANALYZE (PostgreSQL docs, ALTER TABLE
-- ... SET STATISTICS). links.base keeps its statistics: "base is null" picks the pairs to
-- reconcile. Catalog only: takes no lock that blocks reads or writes.
alter table index_records
    alter column vals set statistics 0,
    alter column problems set statistics 0,
    alter column raw_refs set statistics 0;
alter table links
    alter column base_desk set statistics 0,
    alter column base_crm set statistics 0;
