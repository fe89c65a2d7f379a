-- One index of index_records by match key serves every lookup: the match step's walk of the
-- keys in order (KeyGroups), the create steps' "has a candidate on the other side" probe
-- (Unlinked, match key and side) and the candidates of a batch (Candidates). Two indexes
-- of random e-mail addresses and names made each indexed record two random B-tree inserts
-- besides the primary key's; this one is one.
create index index_records_match_side on index_records (integration_id, module, match_key, side) where match_key is not null;
drop index index_records_key;
drop index index_records_match;
