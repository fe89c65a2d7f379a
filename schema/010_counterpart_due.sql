-- The side whose record still has to be given its counterpart's id ('desk' or 'crm'): the source
-- of a create learns the new record's id after the link is complete, in a later write that a
-- killed worker may never make; the next step or pass writes what is due.
alter table links add column counterpart_due text check (counterpart_due in ('desk', 'crm'));
