package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// IntegrationIDs lists the ids of the integrations that are not deleted (active and paused
// ones), in id order: those whose webhooks should stay subscribed.
func (s *Store) IntegrationIDs(ctx context.Context) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `select id from integrations where state <> 'deleted' order by id`)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	return ids, nil
}
