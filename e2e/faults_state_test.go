package e2e

// What a fault-matrix world ends with, in a form two runs can be compared in: every record of
// both emulators field by field, every link and every failure in Postgres, with the ids and
// times that must differ between runs replaced by what they point at.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

// worldState is a world's end state as sorted lines (a multiset: duplicates stay).
type worldState struct {
	Records  []string // "desk contacts <fields> ⇄ <counterpart>", one per live record
	Links    []string // "link contacts desk[<who>] crm[<who>] linked"
	Failures []string // "failure contacts desk-to-crm desk[<who>] crm[<who>] AMBIGUOUS_MATCH open"
	// Keys counts the records per side, module and match key (email, account name), to name
	// duplicates plainly.
	Keys map[string]int
	// Messages are the failures' messages by line, shown with a difference (not compared:
	// they carry ids).
	Messages map[string]string
}

// volatile are the fields whose values differ between two runs of the same data: ids, times,
// URLs made of ids, users. References (accountId, Account_Name) and counterpart ids (cf_crm_id,
// Desk_ID) are replaced by what they point at.
var volatile = map[string]bool{
	"id": true, "createdTime": true, "modifiedTime": true, "webUrl": true, "ownerId": true,
	"Created_Time": true, "Modified_Time": true, "Created_By": true, "Modified_By": true, "Owner": true,
	"Last_Activity_Time": true,
}

// sideRecords are one side's records of one module, by id.
type sideRecords map[string]map[string]any

// state reads the world's end state.
func (w *world) state() worldState {
	w.t.Helper()
	byID := func(recs []map[string]any) sideRecords {
		out := sideRecords{}
		for _, r := range recs {
			out[fmt.Sprint(r["id"])] = r
		}
		return out
	}
	desk := map[string]sideRecords{"contacts": byID(w.desk.Records("contacts")), "accounts": byID(w.desk.Records("accounts"))}
	crm := map[string]sideRecords{"contacts": byID(w.crm.Records("Contacts")), "accounts": byID(w.crm.Records("Accounts"))}
	who := func(side, module, id string) string {
		recs := desk
		if side == "crm" {
			recs = crm
		}
		if id == "" {
			return "none"
		}
		r, ok := recs[module][id]
		if !ok {
			return "missing"
		}
		return identity(module, r)
	}
	st := worldState{Keys: map[string]int{}, Messages: map[string]string{}}
	for _, module := range []string{"contacts", "accounts"} {
		for _, side := range []string{"desk", "crm"} {
			recs, other := desk[module], "crm"
			if side == "crm" {
				recs, other = crm[module], "desk"
			}
			for _, r := range recs {
				st.Records = append(st.Records, fmt.Sprintf("%s %s %s ⇄ %s", side, module,
					canonical(r, func(acct string) string { return who(side, "accounts", acct) }),
					who(other, module, counterpartID(r))))
				st.Keys[fmt.Sprintf("%s %s %s", side, module, matchKey(module, r))]++
			}
		}
	}
	ctx := context.Background()
	rows, err := w.st.Pool.Query(ctx, `select module, coalesce(desk_id, ''), coalesce(crm_id, ''), state,
		coalesce(desk_deleted, ''), coalesce(crm_deleted, '') from links where integration_id = 'e2e'`)
	if err != nil {
		w.t.Fatalf("read links: %v", err)
	}
	for rows.Next() {
		var module, deskID, crmID, state, dd, cd string
		if err := rows.Scan(&module, &deskID, &crmID, &state, &dd, &cd); err != nil {
			w.t.Fatal(err)
		}
		st.Links = append(st.Links, fmt.Sprintf("link %s desk[%s] crm[%s] %s %s %s", module,
			who("desk", module, deskID), who("crm", module, crmID), state, dd, cd))
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	rows, err = w.st.Pool.Query(ctx, `select module, direction, coalesce(desk_id, ''), coalesce(crm_id, ''), code,
		resolved_at is not null, message from sync_failures where integration_id = 'e2e'`)
	if err != nil {
		w.t.Fatalf("read failures: %v", err)
	}
	for rows.Next() {
		var module, dir, deskID, crmID, code, msg string
		var resolved bool
		if err := rows.Scan(&module, &dir, &deskID, &crmID, &code, &resolved, &msg); err != nil {
			w.t.Fatal(err)
		}
		open := "open"
		if resolved {
			open = "resolved"
		}
		line := fmt.Sprintf("failure %s %s desk[%s] crm[%s] %s %s", module, dir, who("desk", module, deskID), who("crm", module, crmID), code, open)
		st.Failures = append(st.Failures, line)
		st.Messages[line] = msg
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	sort.Strings(st.Records)
	sort.Strings(st.Links)
	sort.Strings(st.Failures)
	return st
}

// counterpartID is the record's counterpart-id field: Desk's cf_crm_id or CRM's Desk_ID.
func counterpartID(r map[string]any) string {
	if cf, ok := r["cf"].(map[string]any); ok {
		return str(cf["cf_crm_id"])
	}
	return str(r["Desk_ID"])
}

// matchKey is the record's match key as the sync defines it, near enough for counting:
// the trimmed lower-case email of a contact, the lower-case name of an account.
func matchKey(module string, r map[string]any) string {
	if module == "contacts" {
		return strings.ToLower(strings.TrimSpace(str(r["email"]) + str(r["Email"])))
	}
	return strings.ToLower(strings.TrimSpace(str(r["accountName"]) + str(r["Account_Name"])))
}

// identity names a record by what a person would: a contact by email and name, an account by
// name.
func identity(module string, r map[string]any) string {
	if module == "contacts" {
		return strings.TrimSpace(fmt.Sprintf("%s %s %s", matchKey(module, r), str(r["firstName"])+str(r["First_Name"]),
			str(r["lastName"])+str(r["Last_Name"])))
	}
	return str(r["accountName"]) + str(r["Account_Name"])
}

// canonical writes a record's fields sorted, custom fields flattened, volatile ones left out,
// the account reference replaced by the account's identity (account names it), and the
// counterpart id left to the caller.
func canonical(r map[string]any, account func(id string) string) string {
	flat := map[string]any{}
	for k, v := range r {
		switch {
		case volatile[k] || strings.HasPrefix(k, "$") || k == "Desk_ID":
		case k == "cf":
			cf, _ := v.(map[string]any)
			for ck, cv := range cf {
				if ck != "cf_crm_id" {
					flat["cf."+ck] = cv
				}
			}
		case k == "accountId":
			flat[k] = account(str(v))
		case k == "Account_Name":
			if ref, ok := v.(map[string]any); ok {
				flat[k] = account(str(ref["id"]))
			} else {
				flat[k] = v // an account's own name
			}
		default:
			flat[k] = v
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		v := flat[k]
		if v == nil {
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			j, _ := json.Marshal(v)
			fmt.Fprintf(&b, "%s=%s ", k, j)
		default:
			fmt.Fprintf(&b, "%s=%v ", k, v)
		}
	}
	return strings.TrimSpace(b.String())
}

// str is v as a string, "" for nil.
func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// compareStates reports every difference between a run's state and the clean run's: records
// (field by field), links and failures that one has and the other has not, and match keys
// held by more records than in the clean run (duplicates) or fewer (missing).
func compareStates(t *testing.T, what string, got, want worldState) bool {
	t.Helper()
	ok := true
	for _, part := range []struct {
		name      string
		got, want []string
	}{{"records", got.Records, want.Records}, {"links", got.Links, want.Links}, {"failures", got.Failures, want.Failures}} {
		extra, missing := multisetDiff(part.got, part.want)
		if len(extra)+len(missing) == 0 {
			continue
		}
		if part.name == "failures" {
			for i, l := range extra {
				extra[i] = l + ": " + got.Messages[l]
			}
		}
		ok = false
		t.Errorf("%s: %s differ from the clean run (%d vs %d):\n only in this run (%d):\n%s\n only in the clean run (%d):\n%s",
			what, part.name, len(part.got), len(part.want), len(extra), head(extra, 25), len(missing), head(missing, 25))
	}
	var dups []string
	for _, k := range slices.Sorted(maps.Keys(got.Keys)) {
		if got.Keys[k] > want.Keys[k] && !strings.HasSuffix(k, " ") {
			dups = append(dups, fmt.Sprintf("%s: %d records, %d in the clean run", k, got.Keys[k], want.Keys[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.Keys)) {
		if got.Keys[k] < want.Keys[k] && !strings.HasSuffix(k, " ") {
			dups = append(dups, fmt.Sprintf("%s: %d records, %d in the clean run (missing)", k, got.Keys[k], want.Keys[k]))
		}
	}
	if len(dups) > 0 {
		ok = false
		t.Errorf("%s: duplicated or missing match keys:\n%s", what, head(dups, 25))
	}
	return ok
}

// multisetDiff returns the lines of a not in b and of b not in a, counting repeats.
func multisetDiff(a, b []string) (onlyA, onlyB []string) {
	n := map[string]int{}
	for _, s := range a {
		n[s]++
	}
	for _, s := range b {
		n[s]--
	}
	for _, s := range slices.Sorted(maps.Keys(n)) {
		for ; n[s] > 0; n[s]-- {
			onlyA = append(onlyA, s)
		}
		for ; n[s] < 0; n[s]++ {
			onlyB = append(onlyB, s)
		}
	}
	return onlyA, onlyB
}

// head joins the first n lines, saying how many more there are.
func head(lines []string, n int) string {
	if len(lines) > n {
		return "  " + strings.Join(lines[:n], "\n  ") + fmt.Sprintf("\n  ... and %d more", len(lines)-n)
	}
	return "  " + strings.Join(lines, "\n  ")
}
