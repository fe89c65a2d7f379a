-- Every code of an entry that names several problems of one record (store.mergeFailures joins
-- their messages into one entry; code keeps the first): the console's code filter and its
-- count per code find the entry under each. Null for an entry of one code. Catalog only: no
-- rewrite, no lock that blocks reads or writes.
alter table sync_failures add column codes text[];
