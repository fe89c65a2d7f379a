package crmspec

import "testing"

func TestLoad(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.docs) != len(docFiles) {
		t.Fatalf("loaded %d docs, want %d", len(s.docs), len(docFiles))
	}
}
