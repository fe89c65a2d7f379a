-- What the agent panel shows to each Desk profile, and the handshake-mode settings, per
-- integration. A profile with no row gets the least-privilege default of
-- store.DefaultPermissions (the contact's info; deals, notes and activities only once an admin
-- grants them); rows are always written whole, so the column defaults below are not that
-- default. An integration with no handshake row ranks customer types in the default order.

create table panel_permissions (
    integration_id text not null references integrations (id),
    profile_key    text not null check (profile_key = lower(btrim(profile_key)) and length(profile_key) between 1 and 100),
    profile        text not null,  -- the Desk profile name as the admin typed it
    panel_visible  boolean not null default true,
    modules        text not null default 'both' check (modules in ('contacts', 'accounts', 'both')),
    info           text not null default 'full' check (info in ('full', 'restricted')),
    deals          text not null default 'full' check (deals in ('full', 'restricted')),
    notes          text not null default 'full' check (notes in ('full', 'restricted')),
    calls          boolean not null default true,
    events         boolean not null default true,
    tasks          boolean not null default true,
    updated_at     timestamptz not null default now(),
    primary key (integration_id, profile_key)
);

-- Handshake mode: open tickets ranked by the CRM Account_Type of the customer's account,
-- in type_order; types not listed come after, then tickets with no known type.
create table handshake_settings (
    integration_id text primary key references integrations (id),
    enabled        boolean not null default true,
    type_order     text[] not null default '{Customer,Partner,Reseller,Prospect,Vendor,Other}',
    updated_at     timestamptz not null default now()
);
