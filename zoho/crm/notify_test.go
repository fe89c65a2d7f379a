package crm

import "testing"

func TestParseNotification(t *testing.T) {
	cases := []struct {
		name string
		body string
		ok   bool
		ids  int
	}{
		{"full", `{"server_time":1713849600000,"query_params":{},"module":"Contacts","resource_uri":"https://www.zohoapis.com/crm/v8/Contacts","ids":["4150868000000002175",4150868000000002176],"affected_fields":[],"operation":"update","channel_id":1001,"token":"t"}`, true, 2},
		{"no module", `{"ids":["1"],"channel_id":"1"}`, false, 1},
		{"not json", `ids=1`, false, 0},
	}
	for _, tc := range cases {
		n, err := ParseNotification([]byte(tc.body))
		if (err == nil) != tc.ok || len(n.IDs) != tc.ids {
			t.Errorf("%s: %+v %v", tc.name, n, err)
		}
		if tc.ok && (n.IDs[1] != "4150868000000002176" || n.ChannelID != "1001" || n.ServerTime.IsZero()) {
			t.Errorf("%s: ids must stay exact: %+v", tc.name, n)
		}
	}
}
