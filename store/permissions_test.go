package store_test

import (
	"context"
	"testing"
	"time"

	"deskcrm/store"
)

// DeletePermissions removes one profile's row (matched case-insensitively, as stored), which
// then reads as the defaults again; the other profiles' rows and other integrations stay.
func TestDeletePermissions(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := st.EnsureIntegration(ctx, "other", "two-way", 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	set := func(integration, profile string) {
		t.Helper()
		p := store.DefaultPermissions(profile)
		p.Deals = store.AccessFull
		if _, err := st.SetPermissions(ctx, integration, p); err != nil {
			t.Fatal(err)
		}
	}
	set("it", "Agnet")
	set("it", "Agent")
	set("other", "Agnet")

	deleted, err := st.DeletePermissions(ctx, "it", "  agnet ")
	if err != nil || !deleted {
		t.Fatalf("delete = %v, %v; want true", deleted, err)
	}
	if p, err := st.Permissions(ctx, "it", "Agnet"); err != nil || p.Stored || p != store.DefaultPermissions("Agnet") {
		t.Fatalf("after delete: %+v %v; want the defaults", p, err)
	}
	for _, k := range []struct{ integration, profile string }{{"it", "Agent"}, {"other", "Agnet"}} {
		if p, err := st.Permissions(ctx, k.integration, k.profile); err != nil || !p.Stored {
			t.Errorf("%s/%s went with the delete: %+v %v", k.integration, k.profile, p, err)
		}
	}
	if deleted, err := st.DeletePermissions(ctx, "it", "Agnet"); err != nil || deleted {
		t.Fatalf("second delete = %v, %v; want false, nil", deleted, err)
	}
}
