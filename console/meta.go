package console

import (
	"context"
	"sync"
	"time"

	"deskcrm/activities"
	"deskcrm/mapping"
	"deskcrm/zoho/desk"
)

// metaCache keeps what the console reads from Zoho's settings for a short while, so that a
// page reloaded or a mapping checked at every change costs no API calls: both sides' field
// metadata per module, and Desk's profiles.
type metaCache struct {
	acts *activities.Activities
	ttl  time.Duration
	now  func() time.Time

	mu       sync.Mutex
	fields   map[string]fieldsEntry
	profiles profilesEntry
}

type fieldsEntry struct {
	desk, crm []mapping.FieldMeta
	at        time.Time
}

type profilesEntry struct {
	list []desk.Profile
	at   time.Time
}

func newMetaCache(acts *activities.Activities, ttl time.Duration, now func() time.Time) *metaCache {
	return &metaCache{acts: acts, ttl: ttl, now: now, fields: map[string]fieldsEntry{}}
}

// Fields returns a module's field metadata on both sides (Desk, then CRM), read through the
// activities as the sync reads it.
func (c *metaCache) Fields(ctx context.Context, module string) (deskFields, crmFields []mapping.FieldMeta, err error) {
	c.mu.Lock()
	e, ok := c.fields[module]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < c.ttl {
		return e.desk, e.crm, nil
	}
	d, cr, err := activities.FieldMetadata(ctx, c.acts, module)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.fields[module] = fieldsEntry{desk: d, crm: cr, at: c.now()}
	c.mu.Unlock()
	return d, cr, nil
}

// Profiles returns Desk's agent profiles.
func (c *metaCache) Profiles(ctx context.Context) ([]desk.Profile, error) {
	c.mu.Lock()
	e := c.profiles
	c.mu.Unlock()
	if e.list != nil && c.now().Sub(e.at) < c.ttl {
		return e.list, nil
	}
	list, err := c.acts.Desk.Profiles(ctx)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []desk.Profile{}
	}
	c.mu.Lock()
	c.profiles = profilesEntry{list: list, at: c.now()}
	c.mu.Unlock()
	return list, nil
}
