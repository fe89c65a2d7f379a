package crm

import "testing"

func TestUsers(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		query     string
		wantIDs   []string
		wantCode  string
		wantEmpty bool
		// notInSpec: the type is on Zoho's Users API page but not in
		// users.json's enum, so only the response is validated.
		notInSpec bool
	}{
		{query: q("type", "CurrentUser"), wantIDs: []string{userID}},
		{query: q("type", "AllUsers"), wantIDs: []string{users[0].id, users[1].id}, notInSpec: true},
		{query: q("type", "ActiveUsers", "per_page", "1", "page", "2"), wantIDs: []string{users[1].id}},
		{query: q("type", "AdminUsers"), wantIDs: []string{userID}, notInSpec: true},
		{query: q("type", "DeactiveUsers"), wantEmpty: true},
		{query: "", wantIDs: []string{users[0].id, users[1].id}},
		{query: q("type", "Everyone"), wantCode: "INVALID_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var opts []reqOpt
			if tt.wantCode != "" || tt.notInSpec {
				opts = append(opts, badReq)
			}
			r := e.call("GET", "/crm/v8/users"+tt.query, nil, opts...)
			switch {
			case tt.wantCode != "":
				wantCode(t, r, 400, tt.wantCode)
				return
			case tt.wantEmpty:
				wantStatus(t, r, 204)
				return
			}
			wantStatus(t, r, 200)
			var got []string
			for _, u := range r.body["users"].([]any) {
				um := u.(map[string]any)
				got = append(got, um["id"].(string))
				if um["email"] == "" || um["full_name"] == "" || um["status"] != "active" {
					t.Errorf("user %v", um)
				}
			}
			if len(got) != len(tt.wantIDs) {
				t.Fatalf("users = %v, want %v", got, tt.wantIDs)
			}
			for i := range got {
				if got[i] != tt.wantIDs[i] {
					t.Errorf("users = %v, want %v", got, tt.wantIDs)
				}
			}
		})
	}
}
