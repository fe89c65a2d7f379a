package crm

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// criteria is a parsed search expression: either a condition or a group.
type criteria struct {
	// group
	op       string // "and" / "or"; "" for a condition
	children []*criteria
	// condition
	field    string
	k        int
	f        *Field
	operator string
	values   []string
	want     []critValue // values parsed for the field's type, once per request (checkCond)
}

func queryError(details map[string]any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: "Invalid query formed", details: details}
}

// parseCriteria parses Zoho's criteria syntax: (Field:op:value), groups
// joined with and/or, values escaped with backslashes.
func parseCriteria(m *module, s string) (*criteria, *apiError) {
	p := &critParser{src: s, m: m}
	c, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.src) {
		return nil, queryError(map[string]any{"api_name": "criteria", "reason": "unexpected text after the criteria"})
	}
	if p.conds > maxCriteria {
		return nil, &apiError{status: http.StatusBadRequest, code: "CRITERIA_LIMIT_EXCEEDED",
			message: "no of criterium that can be given exceed the limit 15", details: map[string]any{"limit": maxCriteria}}
	}
	return c, nil
}

type critParser struct {
	src   string
	pos   int
	m     *module
	conds int
}

func (p *critParser) bad(reason string) *apiError {
	return queryError(map[string]any{"api_name": "criteria", "reason": reason})
}

func (p *critParser) expr() (*criteria, *apiError) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	group := &criteria{children: []*criteria{first}}
	for p.pos < len(p.src) && p.src[p.pos] != ')' {
		rest := strings.ToLower(p.src[p.pos:])
		var op string
		switch {
		case strings.HasPrefix(rest, "and"):
			op = "and"
		case strings.HasPrefix(rest, "or"):
			op = "or"
		default:
			return nil, p.bad("expected and/or between conditions")
		}
		if group.op != "" && group.op != op {
			return nil, p.bad("mixing and/or needs parentheses")
		}
		group.op = op
		p.pos += len(op)
		next, err := p.term()
		if err != nil {
			return nil, err
		}
		group.children = append(group.children, next)
	}
	if len(group.children) == 1 {
		return first, nil
	}
	return group, nil
}

func (p *critParser) term() (*criteria, *apiError) {
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.bad("expected (")
	}
	p.pos++
	var c *criteria
	var err *apiError
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		c, err = p.expr()
	} else {
		c, err = p.cond()
	}
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.src) || p.src[p.pos] != ')' {
		return nil, p.bad("expected )")
	}
	p.pos++
	return c, nil
}

// cond reads Field:operator:value up to the closing parenthesis.
func (p *critParser) cond() (*criteria, *apiError) {
	var parts []string
	var cur strings.Builder
	var values []string
	for p.pos < len(p.src) {
		ch := p.src[p.pos]
		if ch == '\\' && p.pos+1 < len(p.src) {
			cur.WriteByte(p.src[p.pos+1])
			p.pos += 2
			continue
		}
		if ch == ')' {
			break
		}
		if ch == ':' && len(parts) < 2 {
			parts = append(parts, cur.String())
			cur.Reset()
			p.pos++
			continue
		}
		if ch == ',' && len(parts) == 2 {
			values = append(values, cur.String())
			cur.Reset()
			p.pos++
			continue
		}
		cur.WriteByte(ch)
		p.pos++
	}
	values = append(values, cur.String())
	if len(parts) != 2 {
		return nil, p.bad("a condition is Field:operator:value")
	}
	p.conds++
	c := &criteria{field: strings.TrimSpace(parts[0]), operator: strings.TrimSpace(parts[1]), values: values}
	return c, p.m.checkCond(c)
}

// opsByKind lists the operators each kind of field supports.
var opsByKind = map[string][]string{
	"text":    {"equals", "not_equal", "starts_with", "in"},
	"number":  {"equals", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal", "between", "in"},
	"boolean": {"equals", "not_equal"},
	"lookup":  {"equals", "not_equal", "in"},
}

func fieldKind(f *Field) string {
	switch f.DataType {
	case "integer", "bigint", "double", "currency", "decimal", "percent", "date", "datetime":
		return "number"
	case "boolean":
		return "boolean"
	case "lookup", "ownerlookup":
		return "lookup"
	}
	return "text"
}

// checkCond resolves a condition's field and checks operator and values.
func (m *module) checkCond(c *criteria) *apiError {
	if c.field == "id" {
		c.f = &Field{APIName: "id", DataType: "lookup"}
		c.k = -1
	} else {
		k, f, ok := m.fields.get(c.field)
		if !ok {
			return queryError(map[string]any{"api_name": c.field, "reason": "the given field is not available in the module"})
		}
		c.k, c.f = k, f
	}
	kind := fieldKind(c.f)
	if !slices.Contains(opsByKind[kind], c.operator) {
		return queryError(map[string]any{"api_name": c.field, "operator": c.operator, "reason": "the given operator is not supported for this field"})
	}
	if c.operator == "in" && len(c.values) > maxInValues {
		return &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: `Only 100 values are allowed in "IN" criteria`,
			details: map[string]any{"api_name": c.field, "param_name": "criteria"}}
	}
	if c.operator == "between" && len(c.values) != 2 {
		return queryError(map[string]any{"api_name": c.field, "reason": "between needs two values", "value": strings.Join(c.values, ",")})
	}
	if c.operator != "in" && c.operator != "between" && len(c.values) > 1 {
		// A comma in a single value was not escaped: take it literally.
		c.values = []string{strings.Join(c.values, ",")}
	}
	c.want = make([]critValue, len(c.values))
	for i, v := range c.values {
		w, ok := parseCritValue(c.f, v)
		if !ok {
			return queryError(map[string]any{"api_name": c.field, "expected_data_type": c.f.DataType, "reason": "the given value is not valid for the field type"})
		}
		c.want[i] = w
	}
	return nil
}

// critValue is a comparable criteria value.
type critValue struct {
	num float64
	str string
}

func parseCritValue(f *Field, v string) (critValue, bool) {
	switch f.DataType {
	case "integer", "bigint", "double", "currency", "decimal", "percent":
		x, err := strconv.ParseFloat(v, 64)
		return critValue{num: x}, err == nil
	case "date":
		t, err := time.Parse("2006-01-02", v)
		return critValue{num: float64(t.Unix())}, err == nil
	case "datetime":
		t, err := time.Parse(time.RFC3339, v)
		return critValue{num: float64(t.Unix())}, err == nil
	case "boolean":
		if v != "true" && v != "false" {
			return critValue{}, false
		}
		return critValue{str: v}, true
	case "lookup", "ownerlookup":
		_, ok := parseID(v)
		return critValue{str: v}, ok
	}
	return critValue{str: strings.ToLower(v)}, true
}

// recordValue returns a record's value for a condition as a critValue.
func (s *Server) recordValue(c *criteria, r *rec) (critValue, bool) {
	switch c.f.APIName {
	case "id":
		return critValue{str: formatID(r.id)}, true
	case "Created_Time":
		return critValue{num: float64(r.created)}, true
	case "Modified_Time":
		return critValue{num: float64(r.modified)}, true
	case "Owner":
		return critValue{str: users[r.owner].id}, true
	case "Created_By":
		return critValue{str: users[r.creator].id}, true
	case "Modified_By":
		return critValue{str: users[r.modifier].id}, true
	}
	v, ok := r.get(c.k)
	if !ok {
		return critValue{}, false
	}
	switch x := v.(type) {
	case int64:
		return critValue{num: float64(x)}, true
	case float64:
		return critValue{num: x}, true
	case dateTime:
		return critValue{num: float64(x)}, true
	case bool:
		return critValue{str: strconv.FormatBool(x)}, true
	case lookupRef:
		return critValue{str: formatID(x.id)}, true
	case string:
		if c.f.DataType == "date" {
			t, _ := time.Parse("2006-01-02", x)
			return critValue{num: float64(t.Unix())}, true
		}
		return critValue{str: strings.ToLower(x)}, true
	}
	return critValue{str: strings.ToLower(s.valueString(v))}, true
}

// match evaluates the criteria against a record.
func (s *Server) match(c *criteria, r *rec) bool {
	if c.op != "" {
		for _, ch := range c.children {
			m := s.match(ch, r)
			if c.op == "and" && !m {
				return false
			}
			if c.op == "or" && m {
				return true
			}
		}
		return c.op == "and"
	}
	got, has := s.recordValue(c, r)
	want := c.want
	numeric := fieldKind(c.f) == "number"
	eq := func(w critValue) bool {
		if numeric {
			return has && got.num == w.num
		}
		return has && got.str == w.str
	}
	switch c.operator {
	case "equals":
		return eq(want[0])
	case "not_equal":
		return !eq(want[0])
	case "in":
		return slices.ContainsFunc(want, eq)
	case "starts_with":
		return has && strings.HasPrefix(got.str, want[0].str)
	case "greater_than":
		return has && got.num > want[0].num
	case "greater_equal":
		return has && got.num >= want[0].num
	case "less_than":
		return has && got.num < want[0].num
	case "less_equal":
		return has && got.num <= want[0].num
	case "between":
		return has && got.num >= want[0].num && got.num <= want[1].num
	}
	return false
}
