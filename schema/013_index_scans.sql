-- The last complete scan of each side of each module into index_records: as of when, over which
-- look-back, with which mapping and mode. A first sync whose index steps find a scan of the same
-- settings (a dry-run plan's, typically) and nothing changed in Zoho since reuses the index
-- instead of reading both databases again.
create table index_scans (
    integration_id  text not null references integrations (id),
    module          text not null check (module in ('contacts', 'accounts')),
    side            text not null check (side in ('desk', 'crm')),
    scanned_at      timestamptz not null,  -- the scan's "now": records created after it were left out
    lookback        interval not null,
    mapping_version bigint not null,
    mode            text not null,
    primary key (integration_id, module, side)
);

-- When each index row was last written (by a scan or a pass). A complete scan removes the rows
-- it did not write: records deleted, or fallen out of the look-back, since an earlier scan.
alter table index_records add column indexed_at timestamptz not null default now();
