-- A Desk record's account reference is kept as Desk's id when the account is not linked yet at
-- indexing time (contacts are indexed while the accounts' creates run): the steps that plan
-- from the index translate it then, through the links made meanwhile.
alter table index_records add column raw_refs jsonb;
