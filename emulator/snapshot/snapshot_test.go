package snapshot_test

import (
	"encoding/gob"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deskcrm/emulator/snapshot"
)

// counter is a small Part: a name, a version and a list of numbers streamed one by one.
type counter struct {
	name    string
	version int
	nums    []int
	failAt  int // SaveSnapshot fails after this many numbers (0 = never)
}

func (c *counter) SnapshotName() string { return c.name }
func (c *counter) SnapshotVersion() int { return c.version }

func (c *counter) SaveSnapshot(enc *gob.Encoder) error {
	if err := enc.Encode(len(c.nums)); err != nil {
		return err
	}
	for i, n := range c.nums {
		if c.failAt > 0 && i == c.failAt {
			return errors.New("disk on fire")
		}
		if err := enc.Encode(n); err != nil {
			return err
		}
	}
	return nil
}

func (c *counter) LoadSnapshot(dec *gob.Decoder) error {
	var n int
	if err := dec.Decode(&n); err != nil {
		return err
	}
	c.nums = make([]int, n)
	for i := range c.nums {
		if err := dec.Decode(&c.nums[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestSaveLoad saves two parts to a file and loads them back; a missing file is "no snapshot"
// and no error.
func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "emulators.snapshot")
	found, err := snapshot.Load(path, &counter{name: "a", version: 1})
	if found || err != nil {
		t.Fatalf("missing file: found %v, err %v", found, err)
	}
	if err := snapshot.Save(path, &counter{name: "a", version: 1, nums: []int{1, 2, 3}}, &counter{name: "b", version: 4, nums: []int{9}}); err != nil {
		t.Fatal(err)
	}
	a, b := &counter{name: "a", version: 1}, &counter{name: "b", version: 4}
	if found, err := snapshot.Load(path, a, b); !found || err != nil {
		t.Fatalf("found %v, err %v", found, err)
	}
	if len(a.nums) != 3 || a.nums[2] != 3 || len(b.nums) != 1 || b.nums[0] != 9 {
		t.Fatalf("loaded %v and %v", a.nums, b.nums)
	}
}

// TestSaveIsAtomic makes a save fail half-way: the snapshot saved before stays whole and no
// temporary file is left.
func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "emulators.snapshot")
	if err := snapshot.Save(path, &counter{name: "a", version: 1, nums: []int{1, 2}}); err != nil {
		t.Fatal(err)
	}
	err := snapshot.Save(path, &counter{name: "a", version: 1, nums: []int{7, 8, 9, 10}, failAt: 2})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("want the part's error, got %v", err)
	}
	a := &counter{name: "a", version: 1}
	if _, err := snapshot.Load(path, a); err != nil || len(a.nums) != 2 || a.nums[1] != 2 {
		t.Fatalf("the old snapshot did not survive a failed save: %v %v", a.nums, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left in the directory: %v", entries)
	}
}

// header mirrors the snapshot header (gob matches fields by name), to write other versions.
type header struct {
	Magic   string
	Version int
	Saved   time.Time
}

// wantStartOver checks that err names the file, says what is wrong and tells how to start over.
func wantStartOver(t *testing.T, err error, path string, what ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("loaded a snapshot that should be refused")
	}
	msg := err.Error()
	for _, w := range append(what, path, "make clean") {
		if !strings.Contains(msg, w) {
			t.Fatalf("error %q does not say %q", msg, w)
		}
	}
}

// TestRefusesUnknownVersions writes a file of a future format version, and one whose section
// has another version than the part reads.
func TestRefusesUnknownVersions(t *testing.T) {
	dir := t.TempDir()
	future := filepath.Join(dir, "future.snapshot")
	f, err := os.Create(future)
	if err != nil {
		t.Fatal(err)
	}
	if err := gob.NewEncoder(f).Encode(header{Magic: snapshot.Magic, Version: snapshot.Version + 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = snapshot.Load(future, &counter{name: "a", version: 1})
	wantStartOver(t, err, future, "the snapshot format has version 2; this emulator reads version 1")
	var ve *snapshot.VersionError
	if !errors.As(err, &ve) || ve.Got != snapshot.Version+1 {
		t.Fatalf("want a VersionError, got %T %v", err, err)
	}

	older := filepath.Join(dir, "older.snapshot")
	if err := snapshot.Save(older, &counter{name: "crm", version: 1, nums: []int{1}}); err != nil {
		t.Fatal(err)
	}
	_, err = snapshot.Load(older, &counter{name: "crm", version: 2})
	wantStartOver(t, err, older, "the crm section has version 1; this emulator reads version 2")
}

// TestRefusesDamagedFiles loads a file of garbage, a cut-off snapshot, an empty file and a
// snapshot of other parts.
func TestRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.snapshot")
	if err := snapshot.Save(good, &counter{name: "a", version: 1, nums: []int{1, 2, 3, 4, 5, 6, 7, 8}}); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"garbage":   []byte("this is not a snapshot at all, just some text\n"),
		"truncated": whole[:len(whole)-3],
		"empty":     nil,
	}
	for name, body := range cases {
		path := filepath.Join(dir, name+".snapshot")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := snapshot.Load(path, &counter{name: "a", version: 1})
		wantStartOver(t, err, path, "damaged")
		if !errors.Is(err, snapshot.ErrDamaged) {
			t.Fatalf("%s: want ErrDamaged, got %v", name, err)
		}
	}
	_, err = snapshot.Load(good, &counter{name: "b", version: 1})
	wantStartOver(t, err, good, `found section "a" where "b" belongs`)
}
