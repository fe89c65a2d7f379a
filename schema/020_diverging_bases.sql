-- The pairs whose CRM side's merge base differs from the Desk side's (links.base_crm holds a
-- field only where it does: a value that could not be carried, an account with no counterpart
-- yet): each incremental pass of contacts looks among them for account references that can be
-- carried now (store.AccountFollowers). Few pairs differ, so the index is small; without it
-- the pass read every link of the module.
create index links_base_crm on links (integration_id, module) where base_crm is not null;
