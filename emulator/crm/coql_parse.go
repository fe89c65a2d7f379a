package crm

import (
	"net/http"
	"strconv"
	"strings"
)

// COQL limits (Zoho CRM v8 "Query API - An Overview" and "Query API - Limitations"):
// LIMIT defaults to 200 and is at most 2,000 a call; LIMIT and OFFSET reach 100,000 records;
// up to 50 columns in SELECT, 25 criteria in WHERE, 10 fields in ORDER BY, 50 values in IN.
const (
	coqlDefaultLimit = 200
	coqlMaxLimit     = 2000
	coqlMaxReach     = 100000
	coqlMaxColumns   = 50
	coqlMaxCriteria  = 25
	coqlMaxOrderBy   = 10
	coqlMaxInValues  = 50
)

// coqlQuery is a parsed select query, its names not yet resolved against a module.
type coqlQuery struct {
	columns []coqlName
	module  coqlName
	where   *criteria // field names and raw values only (resolveCOQL fills in the rest)
	order   []coqlOrder
	offset  int
	limit   int
}

// coqlName is a column or module name and where the query gives it.
type coqlName struct {
	name string
	pos  int
}

type coqlOrder struct {
	col  coqlName
	desc bool
}

// coqlToken is a lexical token: a keyword or name (word), a quoted string, a number or a
// symbol, with its byte offset in the query.
type coqlToken struct {
	kind byte // 'w' word, 's' string, 'n' number, 'p' punctuation or operator, 0 end
	text string
	pos  int
}

// coqlSyntaxError is Zoho's SYNTAX_ERROR for a query that does not parse: details
// {line, column, near} (coql.json Parse_Error_Details; column counts from 1).
func coqlSyntaxError(query string, tok coqlToken) *apiError {
	line, col := 1, 1
	for _, ch := range query[:min(tok.pos, len(query))] {
		if ch == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	near := tok.text
	if tok.kind == 0 {
		near = "<EOF>"
	}
	return &apiError{status: http.StatusBadRequest, code: "SYNTAX_ERROR", message: "invalid query formed",
		details: map[string]any{"line": line, "column": col, "near": near}}
}

// coqlClauseError is Zoho's SYNTAX_ERROR for a missing or misplaced clause: details {clause}
// (coql.json Clause_Details).
func coqlClauseError(clause string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "SYNTAX_ERROR", message: "invalid query formed",
		details: map[string]any{"clause": clause}}
}

func coqlLimitError(by string, limit int) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "limit exceeded",
		details: map[string]any{"by": by, "limit": limit}}
}

// lexCOQL splits a query into tokens. Strings are in single quotes (a quote inside doubled);
// double quotes enclose a name (a column that is a reserved word). It fails on an unclosed
// quote or a character COQL has no use for.
func lexCOQL(q string) ([]coqlToken, *apiError) {
	var out []coqlToken
	i := 0
	for i < len(q) {
		ch := q[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case ch == '\'' || ch == '"':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(q) {
				if q[i] == ch {
					if i+1 < len(q) && q[i+1] == ch {
						b.WriteByte(ch)
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(q[i])
				i++
			}
			if !closed {
				return nil, coqlSyntaxError(q, coqlToken{kind: 'p', text: q[start:], pos: start})
			}
			kind := byte('s')
			if ch == '"' {
				kind = 'w'
			}
			out = append(out, coqlToken{kind: kind, text: b.String(), pos: start})
		case isCOQLWordByte(ch):
			start := i
			for i < len(q) && (isCOQLWordByte(q[i]) || q[i] == '.' || q[i] == '$') {
				i++
			}
			w := q[start:i]
			kind := byte('w')
			if _, err := strconv.ParseFloat(w, 64); err == nil {
				kind = 'n'
			}
			out = append(out, coqlToken{kind: kind, text: w, pos: start})
		case ch == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			start := i
			i++
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.') {
				i++
			}
			out = append(out, coqlToken{kind: 'n', text: q[start:i], pos: start})
		case strings.HasPrefix(q[i:], "!=") || strings.HasPrefix(q[i:], "<>") || strings.HasPrefix(q[i:], ">=") || strings.HasPrefix(q[i:], "<="):
			out = append(out, coqlToken{kind: 'p', text: q[i : i+2], pos: i})
			i += 2
		case strings.IndexByte("=<>(),*", ch) >= 0:
			out = append(out, coqlToken{kind: 'p', text: q[i : i+1], pos: i})
			i++
		default:
			return nil, coqlSyntaxError(q, coqlToken{kind: 'p', text: q[i : i+1], pos: i})
		}
	}
	return append(out, coqlToken{pos: len(q)}), nil
}

func isCOQLWordByte(ch byte) bool {
	return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

type coqlParser struct {
	q     string
	toks  []coqlToken
	i     int
	conds int
}

func (p *coqlParser) peek() coqlToken { return p.toks[p.i] }
func (p *coqlParser) next() coqlToken { t := p.toks[p.i]; p.i = min(p.i+1, len(p.toks)-1); return t }

// keyword reports whether the next token is the word kw (any case), and takes it if so.
func (p *coqlParser) keyword(kw string) bool {
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, kw) && !p.quoted(t) {
		p.next()
		return true
	}
	return false
}

// quoted reports whether a word token was a double-quoted name (never a keyword).
func (p *coqlParser) quoted(t coqlToken) bool { return t.pos < len(p.q) && p.q[t.pos] == '"' }

func (p *coqlParser) punct(s string) bool {
	if t := p.peek(); t.kind == 'p' && t.text == s {
		p.next()
		return true
	}
	return false
}

func (p *coqlParser) fail() *apiError { return coqlSyntaxError(p.q, p.peek()) }

// coqlKeywords cannot be column names unless quoted.
var coqlKeywords = map[string]bool{"select": true, "from": true, "where": true, "and": true, "or": true, "order": true,
	"by": true, "asc": true, "desc": true, "limit": true, "offset": true, "is": true, "not": true, "null": true,
	"like": true, "in": true, "between": true, "group": true}

// name reads a column or module name: a word that is no keyword, or a quoted name.
func (p *coqlParser) name() (coqlName, *apiError) {
	t := p.peek()
	if t.kind != 'w' || !p.quoted(t) && coqlKeywords[strings.ToLower(t.text)] {
		return coqlName{}, p.fail()
	}
	p.next()
	return coqlName{name: t.text, pos: t.pos}, nil
}

// parseCOQL parses a select query: SELECT columns FROM module [WHERE criteria] [ORDER BY
// column [ASC|DESC], ...] [LIMIT [offset,] count | LIMIT count OFFSET offset]. Keywords are
// case-insensitive. WHERE takes comparisons (=, !=, <>, <, >, <=, >=), [NOT] LIKE, [NOT] IN
// (...), BETWEEN a AND b, IS [NOT] NULL, joined by AND/OR two at a time: more than two
// criteria need brackets, as Zoho requires ("(A and (B and C)) or ((A and B) and C)").
func parseCOQL(query string) (*coqlQuery, *apiError) {
	toks, err := lexCOQL(query)
	if err != nil {
		return nil, err
	}
	p := &coqlParser{q: query, toks: toks}
	if !p.keyword("select") {
		if p.peek().kind == 0 {
			return nil, coqlClauseError("select")
		}
		return nil, p.fail()
	}
	cq := &coqlQuery{limit: coqlDefaultLimit}
	for {
		if p.peek().kind == 'w' && strings.EqualFold(p.peek().text, "from") && !p.quoted(p.peek()) {
			return nil, p.fail()
		}
		col, err := p.name()
		if err != nil {
			return nil, err
		}
		cq.columns = append(cq.columns, col)
		if !p.punct(",") {
			break
		}
	}
	if len(cq.columns) > coqlMaxColumns {
		return nil, coqlLimitError("select columns", coqlMaxColumns)
	}
	if !p.keyword("from") {
		if p.peek().kind == 0 {
			return nil, coqlClauseError("from")
		}
		return nil, p.fail()
	}
	if cq.module, err = p.name(); err != nil {
		return nil, err
	}
	if p.keyword("where") {
		if cq.where, err = p.criteria(); err != nil {
			return nil, err
		}
		if p.conds > coqlMaxCriteria {
			return nil, coqlLimitError("criteria", coqlMaxCriteria)
		}
	}
	if p.keyword("order") {
		if !p.keyword("by") {
			return nil, p.fail()
		}
		for {
			col, err := p.name()
			if err != nil {
				return nil, err
			}
			o := coqlOrder{col: col}
			if p.keyword("desc") {
				o.desc = true
			} else {
				p.keyword("asc")
			}
			cq.order = append(cq.order, o)
			if !p.punct(",") {
				break
			}
		}
		if len(cq.order) > coqlMaxOrderBy {
			return nil, coqlLimitError("order by", coqlMaxOrderBy)
		}
	}
	if p.keyword("limit") {
		first, err := p.count()
		if err != nil {
			return nil, err
		}
		cq.limit = first
		if p.punct(",") {
			if cq.limit, err = p.count(); err != nil {
				return nil, err
			}
			cq.offset = first
		}
	}
	if p.keyword("offset") {
		n, err := p.count()
		if err != nil {
			return nil, err
		}
		cq.offset = n
	}
	if p.peek().kind != 0 {
		return nil, p.fail()
	}
	if cq.limit < 1 || cq.limit > coqlMaxLimit {
		return nil, coqlLimitError("limit", coqlMaxLimit)
	}
	if cq.offset+cq.limit > coqlMaxReach {
		return nil, coqlLimitError("offset", coqlMaxReach)
	}
	return cq, nil
}

// count reads a non-negative integer of LIMIT or OFFSET.
func (p *coqlParser) count() (int, *apiError) {
	t := p.peek()
	n, err := strconv.Atoi(t.text)
	if t.kind != 'n' || err != nil || n < 0 {
		return 0, p.fail()
	}
	p.next()
	return n, nil
}

// criteria reads one criterion or two joined by and/or: cond := primary [(and|or) primary].
func (p *coqlParser) criteria() (*criteria, *apiError) {
	first, err := p.primary()
	if err != nil {
		return nil, err
	}
	var op string
	switch {
	case p.keyword("and"):
		op = "and"
	case p.keyword("or"):
		op = "or"
	default:
		return first, nil
	}
	second, err := p.primary()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == 'w' && !p.quoted(t) && (strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "or")) {
		// A third criterion without brackets: Zoho refuses it.
		return nil, p.fail()
	}
	return &criteria{op: op, children: []*criteria{first, second}}, nil
}

func (p *coqlParser) primary() (*criteria, *apiError) {
	if p.punct("(") {
		c, err := p.criteria()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, p.fail()
		}
		return c, nil
	}
	return p.comparison()
}

// comparison reads one criterion into a criteria condition: field is the column as given,
// values the literal texts, operator one of equals, differs, greater_than, greater_equal,
// less_than, less_equal, like, not_like, in, not_in, between, is_null, is_not_null.
func (p *coqlParser) comparison() (*criteria, *apiError) {
	col, err := p.name()
	if err != nil {
		return nil, err
	}
	p.conds++
	c := &criteria{field: col.name}
	not := false
	switch t := p.peek(); {
	case t.kind == 'p':
		ops := map[string]string{"=": "equals", "!=": "differs", "<>": "differs", ">": "greater_than", ">=": "greater_equal",
			"<": "less_than", "<=": "less_equal"}
		op, ok := ops[t.text]
		if !ok {
			return nil, p.fail()
		}
		p.next()
		c.operator = op
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		c.values = []string{v}
		return c, nil
	case p.keyword("is"):
		c.operator = "is_null"
		if p.keyword("not") {
			c.operator = "is_not_null"
		}
		if !p.keyword("null") {
			return nil, p.fail()
		}
		return c, nil
	case p.keyword("not"):
		not = true
	}
	switch {
	case p.keyword("like"):
		c.operator = "like"
		if not {
			c.operator = "not_like"
		}
		t := p.peek()
		if t.kind != 's' {
			return nil, p.fail()
		}
		p.next()
		c.values = []string{t.text}
	case p.keyword("in"):
		c.operator = "in"
		if not {
			c.operator = "not_in"
		}
		if !p.punct("(") {
			return nil, p.fail()
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			c.values = append(c.values, v)
			if !p.punct(",") {
				break
			}
		}
		if !p.punct(")") {
			return nil, p.fail()
		}
		if len(c.values) > coqlMaxInValues {
			return nil, coqlLimitError("in", coqlMaxInValues)
		}
	case !not && p.keyword("between"):
		c.operator = "between"
		lo, err := p.value()
		if err != nil {
			return nil, err
		}
		if !p.keyword("and") {
			return nil, p.fail()
		}
		hi, err := p.value()
		if err != nil {
			return nil, err
		}
		c.values = []string{lo, hi}
	default:
		return nil, p.fail()
	}
	return c, nil
}

// value reads a literal: a quoted string, a number, or true/false.
func (p *coqlParser) value() (string, *apiError) {
	t := p.peek()
	switch {
	case t.kind == 's' || t.kind == 'n':
	case t.kind == 'w' && !p.quoted(t) && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")):
		t.text = strings.ToLower(t.text)
	default:
		return "", p.fail()
	}
	p.next()
	return t.text, nil
}
