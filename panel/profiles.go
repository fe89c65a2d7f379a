package panel

import (
	"context"
	"sync"
	"time"

	"deskcrm/store"
	"deskcrm/zoho/desk"
)

// profilesTTL is how long Desk's list of profiles is reused by the admin API's check that a
// profile exists.
const profilesTTL = time.Minute

// deskProfiles answers whether Desk has a profile of a given name, from Desk's list of agent
// profiles (GET /api/v1/profiles) kept for profilesTTL. A name the kept list lacks is checked
// with Desk again, so that a profile created a moment ago is found at once; only names Desk
// does list are answered from the cache.
type deskProfiles struct {
	desk *desk.Client
	now  func() time.Time

	mu    sync.Mutex
	names []string
	at    time.Time
}

func newDeskProfiles(d *desk.Client, now func() time.Time) *deskProfiles {
	return &deskProfiles{desk: d, now: now}
}

// find returns Desk's spelling of the profile named name, matched as permissions are stored
// (store.ProfileKey: trimmed, case-insensitive), and the names of all of Desk's profiles.
// found is "" when Desk has no such profile. err is Desk's or the network's failure to list
// the profiles (a *desk.Error for Desk's answers).
func (p *deskProfiles) find(ctx context.Context, name string) (found string, names []string, err error) {
	p.mu.Lock()
	names, fresh := p.names, p.names != nil && p.now().Sub(p.at) < profilesTTL
	p.mu.Unlock()
	if fresh {
		if found = store.MatchProfile(names, name); found != "" {
			return found, names, nil
		}
	}
	list, err := p.desk.Profiles(ctx)
	if err != nil {
		return "", nil, err
	}
	names = make([]string, 0, len(list))
	for _, pr := range list {
		names = append(names, pr.Name)
	}
	p.mu.Lock()
	p.names, p.at = names, p.now()
	p.mu.Unlock()
	return store.MatchProfile(names, name), names, nil
}
