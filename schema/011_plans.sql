-- Dry-run plans of a first sync: the report (counts, calls, time) and, per module, a sample of
-- matched pairs merged field by field (it quotes values, so it stays here, out of workflow
-- history). The latest plan of an integration is the one shown.
create table plans (
    integration_id text not null references integrations (id),
    created_at     timestamptz not null default now(),
    report         jsonb not null,
    primary key (integration_id, created_at)
);
create table plan_samples (
    integration_id text not null references integrations (id),
    module         text not null check (module in ('contacts', 'accounts')),
    created_at     timestamptz not null default now(),
    sample         jsonb not null,
    primary key (integration_id, module)
);
