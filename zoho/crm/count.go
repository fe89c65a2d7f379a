package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// Count returns how many records of module match criteria (all records when criteria is
// empty): GET /crm/v8/{module}/actions/count, 1 credit. Build criteria with Cond, And and Or.
// Zoho types the count as a string ("Get Record Count", CRM API v8); a number is accepted
// too.
func (c *Client) Count(ctx context.Context, module, criteria string) (int, error) {
	op := "count " + module
	v := url.Values{}
	if criteria != "" {
		v.Set("criteria", criteria)
	}
	var out struct {
		Count json.RawMessage `json:"count"`
	}
	if _, err := c.call(ctx, c.get(op, "/"+pathEscape(module)+"/actions/count", v), &out); err != nil {
		return 0, err
	}
	var s string
	if err := json.Unmarshal(out.Count, &s); err != nil {
		s = string(out.Count)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: count %q is not a number", op, s)
	}
	return n, nil
}
