package zohoauth

import (
	"encoding/gob"
	"fmt"
	"time"
)

// The token store is a snapshot.Part (package emulator/snapshot): issued access tokens with
// their expiry and whether the refresh token was revoked survive an emulator restart, so a
// client keeps its token as it would with real Zoho. The client configuration is not saved:
// it comes from Config each start.

// snapshotVersion is the version of the auth section of a snapshot.
const snapshotVersion = 1

type snapTokens struct {
	Tokens   map[string]time.Time
	Lifetime time.Duration
	Revoked  bool
}

// SnapshotName names the token store's section of a snapshot.
func (s *Store) SnapshotName() string { return "auth" }

// SnapshotVersion is the version of the token store's section.
func (s *Store) SnapshotVersion() int { return snapshotVersion }

// SaveSnapshot writes the issued tokens, the token lifetime and the revoked flag.
func (s *Store) SaveSnapshot(enc *gob.Encoder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return enc.Encode(snapTokens{Tokens: s.tokens, Lifetime: s.lifetime, Revoked: s.revoked})
}

// LoadSnapshot replaces the issued tokens, the lifetime and the revoked flag.
func (s *Store) LoadSnapshot(dec *gob.Decoder) error {
	var st snapTokens
	if err := dec.Decode(&st); err != nil {
		return err
	}
	if st.Lifetime <= 0 {
		return fmt.Errorf("token lifetime %s", st.Lifetime)
	}
	if st.Tokens == nil {
		st.Tokens = map[string]time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.lifetime, s.revoked = st.Tokens, st.Lifetime, st.Revoked
	return nil
}
