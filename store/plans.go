package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PlanField is one field of a sampled pair's merge: each side's value, the side that wins,
// and the value written.
type PlanField struct {
	Desk      string `json:"desk"`
	CRM       string `json:"crm"`
	DeskValue any    `json:"deskValue"`
	CRMValue  any    `json:"crmValue"`
	Winner    string `json:"winner"`
	NewValue  any    `json:"newValue"`
}

// PlanSample is a matched pair the first sync would write, field by field.
type PlanSample struct {
	DeskID string      `json:"deskId"`
	CRMID  string      `json:"crmId"`
	Fields []PlanField `json:"fields"`
}

// SavePlanSample keeps the sample of a module's plan (replacing the previous one).
func (s *Store) SavePlanSample(ctx context.Context, integrationID, module string, sample []PlanSample) error {
	b, err := json.Marshal(sample)
	if err != nil {
		return fmt.Errorf("encode the plan sample: %w", err)
	}
	_, err = s.Pool.Exec(ctx, `insert into plan_samples (integration_id, module, sample) values ($1, $2, $3)
		on conflict (integration_id, module) do update set sample = excluded.sample, created_at = now()`, integrationID, module, b)
	if err != nil {
		return fmt.Errorf("save the %s plan sample: %w", module, err)
	}
	return nil
}

// PlanSamples returns the samples of an integration's latest plan, by module.
func (s *Store) PlanSamples(ctx context.Context, integrationID string) (map[string][]PlanSample, error) {
	rows, err := s.Pool.Query(ctx, `select module, sample from plan_samples where integration_id = $1`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("read plan samples: %w", err)
	}
	defer rows.Close()
	out := map[string][]PlanSample{}
	for rows.Next() {
		var module string
		var b []byte
		if err := rows.Scan(&module, &b); err != nil {
			return nil, err
		}
		var sample []PlanSample
		if err := json.Unmarshal(b, &sample); err != nil {
			return nil, fmt.Errorf("decode the %s plan sample: %w", module, err)
		}
		out[module] = sample
	}
	return out, rows.Err()
}

// SavePlan stores a plan report (any JSON value) as the integration's latest.
func (s *Store) SavePlan(ctx context.Context, integrationID string, report any) error {
	b, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("encode the plan: %w", err)
	}
	if _, err := s.Pool.Exec(ctx, `insert into plans (integration_id, report) values ($1, $2)`, integrationID, b); err != nil {
		return fmt.Errorf("save the plan of %s: %w", integrationID, err)
	}
	return nil
}

// LatestPlan decodes the integration's latest plan report into into, and returns when it was
// made; ErrNotFound when none was.
func (s *Store) LatestPlan(ctx context.Context, integrationID string, into any) (time.Time, error) {
	var at time.Time
	var b []byte
	err := s.Pool.QueryRow(ctx, `select created_at, report from plans where integration_id = $1 order by created_at desc limit 1`,
		integrationID).Scan(&at, &b)
	if errors.Is(err, pgx.ErrNoRows) {
		return at, fmt.Errorf("plan of %s: %w", integrationID, ErrNotFound)
	}
	if err != nil {
		return at, fmt.Errorf("read the plan of %s: %w", integrationID, err)
	}
	return at, json.Unmarshal(b, into)
}
