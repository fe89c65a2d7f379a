-- The merge base records what each side actually holds. Where the sync could not carry a value
-- to the other side (an account with no counterpart, a value too long for the target, a
-- picklist value the target lacks), the two sides differ: base keeps the values both hold, and
-- base_desk / base_crm the values where that side differs or alone is known (null when none).
alter table links add column base_desk jsonb, add column base_crm jsonb;
