package webhooks_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"deskcrm/internal/pgtest"
	"deskcrm/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStoreIntegrationIDs checks the list the worker gives SubscriberConfig.Integrations:
// active and paused integrations, not deleted ones.
func TestStoreIntegrationIDs(t *testing.T) {
	st := store.New(pgtest.Pool(t))
	ctx := context.Background()
	ids, err := st.IntegrationIDs(ctx)
	if err != nil || len(ids) != 0 {
		t.Fatalf("empty store: %v, %v", ids, err)
	}
	for _, id := range []string{"c", "a", "b", "d"} {
		if _, err := st.EnsureIntegration(ctx, id, "two-way", 365*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.DeleteIntegration(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	ids, err = st.IntegrationIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(ids, want) {
		t.Fatalf("IntegrationIDs = %v, want %v", ids, want)
	}
}
