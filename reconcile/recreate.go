package reconcile

import (
	"fmt"

	"deskcrm/mapping"
)

// HoldDuplicateRecreates keeps the re-creates (Create.Relink set: the record's counterpart is
// gone for good) whose match key no other linked record of the target side carries, and holds
// the others with a CRM_ID_ALREADY_MAPPED failure naming the record that carries it.
//
// Zoho's merges delete the merged-away records for good (CRM's Find & Merge: "The record(s)
// merged to the master record will be deleted permanently"; Desk's merge of contacts or
// accounts likewise), so the counterpart of a merged-away record points at nothing while the
// merge's master — linked, with the same email or account name — holds the customer. Created
// again by the add-back rule (DESIGN section 1, item 5), the merged record came back as the
// duplicate the admin had just removed. A record deleted on its own carries no such twin and
// is added back as before. candidates are the indexed records carrying the creates' keys (both
// sides; the gone counterpart itself, still indexed until its deletion is read, is told apart
// by its id, Create.Replaces, or by its counterpart id, which names the source).
func HoldDuplicateRecreates(module mapping.Module, creates []Create, candidates map[string][]Candidate) (keep []Create, held []Failure) {
	what := "email"
	if module == mapping.Accounts {
		what = "account name"
	}
	for _, c := range creates {
		holder := ""
		if c.Relink != 0 && c.Source.Key != "" {
			for _, x := range candidates[c.Source.Key] {
				if x.Side != c.Target || !x.Linked || x.ID == c.Replaces || (x.Record != nil && x.Record.Counterpart == c.Source.ID) {
					continue
				}
				holder = x.ID
				break
			}
		}
		if holder == "" {
			keep = append(keep, c)
			continue
		}
		deskID, crmID := ids(c.Source)
		held = append(held, Failure{To: c.Target, DeskID: deskID, CRMID: crmID, Code: CodeAlreadyMapped,
			Message: fmt.Sprintf("CRM ID is already mapped with another support entity: merge this %s record into the one linked to %s record %s (same %s), or change its %s, then retry. Its %s record is gone (deleted or merged): not created again, to avoid a duplicate",
				c.Source.Side.Label(), c.Target.Label(), holder, what, what, c.Target.Label())})
	}
	return keep, held
}
