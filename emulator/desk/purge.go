package desk

// Vanish deletes records of a module for good without leaving anything in the recycle bin,
// as an org restored from a backup or a purge the API never reported would: the records are
// simply gone (contacts of a vanished account lose their accountId). Tests use it to model
// links that outlive their records. It returns how many records vanished.
func (s *Server) Vanish(module string, ids ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, ok := s.mods[module]
	if !ok {
		return 0
	}
	n := 0
	for _, raw := range ids {
		id, ok := parseID(raw)
		if !ok {
			continue
		}
		if rec, found := ms.get(id); found {
			s.purgeLocked(ms, rec)
			n++
		}
	}
	return n
}
