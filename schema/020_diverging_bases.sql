-- The pairs whose CRM side's merge base differs from the Desk side's (links.base_crm holds a
-- field only where it does: a value that could not be carried, an account with no counterpart
-- yet): each incremental pass of contacts looks among them for account references that can be
-- carried now (store.AccountFollowers). Few pairs differ, so the index is small; without it
-- the pass read every link of the module.
create index links_base_crm on links (integration_id, module) where base_crm is not null;
-- A Desk record's account reference read before its account had a CRM counterpart
-- (index_records.raw_refs), by the account: once the account links, the pass finds the contacts
-- to carry it for (store.DeskAccountFollowers). The key is the account field's mapping key,
-- the one lookup Desk and CRM contacts have.
create index index_records_raw_ref on index_records (integration_id, module, (raw_refs ->> 'accountId=Account_Name'))
    where side = 'desk' and raw_refs is not null;
