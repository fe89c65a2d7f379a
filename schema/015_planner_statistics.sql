-- No query filters or joins on the stored documents (mapped values, merge bases, problems,
-- raw references): ANALYZE leaves them out, so refreshing the planner's statistics between the
-- first sync's steps samples only the keys the plans depend on. (It spent most of its time
-- detoasting and hashing these documents: 1.1 s a call at 100,000 contacts per side, on the
-- critical path of every step.) PostgreSQL docs, ALTER TABLE … SET STATISTICS: "a target of
-- zero disables collection of statistics for the column".
alter table index_records
    alter column vals set statistics 0,
    alter column problems set statistics 0,
    alter column raw_refs set statistics 0;
alter table links
    alter column base set statistics 0,
    alter column base_desk set statistics 0,
    alter column base_crm set statistics 0;
