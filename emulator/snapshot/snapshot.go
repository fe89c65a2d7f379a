// Package snapshot saves the emulators' state to one file and loads it back, so that
// `go run ./emulator --data-dir DIR` (and `make run`) carries on the same world after a
// restart.
//
// A snapshot file is one encoding/gob stream: a header (magic, format version, time saved),
// then one section per part (the CRM emulator, the Desk emulator, the OAuth token store), each
// opened by its name and its own version, then an end mark. Each part streams its records
// one at a time through the shared encoder (Part.SaveSnapshot), so saving never builds a
// second copy of a store in memory, however large.
//
// Save writes a temporary file beside the target, syncs it and renames it over the target, so
// a crash leaves the old snapshot or the new one, never half of one. Load refuses a file of
// another format version, or with a part of another version, with an error that says to start
// over (`make clean`); a damaged file is refused the same way.
package snapshot

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Magic opens every snapshot file.
const Magic = "deskcrm-emulator-snapshot"

// Version is the version of the file framing (header, sections, end mark). Each part has its
// own version besides (Part.SnapshotVersion).
const Version = 1

// StartOver is the advice every load error ends with.
const StartOver = "run `make clean` (or delete the file) to start a new demo world"

// Part is one component whose state a snapshot holds.
type Part interface {
	// SnapshotName names the section ("crm", "desk", "auth").
	SnapshotName() string
	// SnapshotVersion is the version of the section's content; raise it on any change a
	// snapshot written before could not be read by.
	SnapshotVersion() int
	// SaveSnapshot streams the part's state into enc.
	SaveSnapshot(enc *gob.Encoder) error
	// LoadSnapshot replaces the part's state with what dec holds. It is called before the part
	// serves requests.
	LoadSnapshot(dec *gob.Decoder) error
}

type header struct {
	Magic   string
	Version int
	Saved   time.Time
}

type section struct {
	Name    string
	Version int
}

type endMark struct{ End bool }

// VersionError is a snapshot, or a part of one, that this build cannot read.
type VersionError struct {
	// What is "the snapshot format" or "the <name> section".
	What      string
	Got, Want int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s has version %d; this emulator reads version %d", e.What, e.Got, e.Want)
}

// ErrDamaged marks a file that is not a complete snapshot.
var ErrDamaged = errors.New("the file is damaged or not an emulator snapshot")

// Save writes the parts' state to path atomically (temporary file, fsync, rename, fsync of the
// directory).
func Save(path string, parts ...Part) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := Write(w, parts...); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Write streams the parts' state to w (Save without the file handling).
func Write(w io.Writer, parts ...Part) error {
	enc := gob.NewEncoder(w)
	if err := enc.Encode(header{Magic: Magic, Version: Version, Saved: time.Now().UTC()}); err != nil {
		return err
	}
	for _, p := range parts {
		if err := enc.Encode(section{Name: p.SnapshotName(), Version: p.SnapshotVersion()}); err != nil {
			return err
		}
		if err := p.SaveSnapshot(enc); err != nil {
			return fmt.Errorf("%s: %w", p.SnapshotName(), err)
		}
	}
	return enc.Encode(endMark{End: true})
}

// Load reads the snapshot at path into the parts, which must be given in the order they were
// saved. It returns false, and no error, when there is no file at path. Any other failure is an
// error that names the file and says how to start over.
func Load(path string, parts ...Part) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load emulator snapshot: %w", err)
	}
	defer f.Close()
	if err := Read(bufio.NewReaderSize(f, 1<<20), parts...); err != nil {
		return false, fmt.Errorf("load emulator snapshot %s: %w; %s", path, err, StartOver)
	}
	return true, nil
}

// Read reads a snapshot stream into the parts (Load without the file handling).
func Read(r io.Reader, parts ...Part) error {
	dec := gob.NewDecoder(r)
	var h header
	if err := dec.Decode(&h); err != nil || h.Magic != Magic {
		return damaged(err)
	}
	if h.Version != Version {
		return &VersionError{What: "the snapshot format", Got: h.Version, Want: Version}
	}
	for _, p := range parts {
		var s section
		if err := dec.Decode(&s); err != nil {
			return damaged(err)
		}
		if s.Name != p.SnapshotName() {
			return fmt.Errorf("%w: found section %q where %q belongs", ErrDamaged, s.Name, p.SnapshotName())
		}
		if s.Version != p.SnapshotVersion() {
			return &VersionError{What: "the " + s.Name + " section", Got: s.Version, Want: p.SnapshotVersion()}
		}
		if err := p.LoadSnapshot(dec); err != nil {
			return fmt.Errorf("%s section: %w", s.Name, damaged(err))
		}
	}
	var end endMark
	if err := dec.Decode(&end); err != nil || !end.End {
		return damaged(err)
	}
	return nil
}

// damaged wraps a decoding failure as ErrDamaged, keeping the cause in the message.
func damaged(err error) error {
	if err == nil {
		return ErrDamaged
	}
	if errors.Is(err, ErrDamaged) {
		return err
	}
	var ve *VersionError
	if errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("%w (%v)", ErrDamaged, err)
}
