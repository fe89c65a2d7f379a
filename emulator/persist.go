package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"deskcrm/emulator/crm"
	"deskcrm/emulator/desk"
	"deskcrm/emulator/snapshot"
	"deskcrm/emulator/zohoauth"
)

// With --data-dir the emulators keep their world on disk: SnapshotFile holds both emulators'
// state and the issued tokens (package emulator/snapshot), written right after seeding, every
// --snapshot-interval and on shutdown, and loaded at start instead of seeding; SigningKeyFile
// holds the Desk webhook signing key, so receivers' cached keys stay good.
const (
	SnapshotFile   = "emulators.snapshot"
	SigningKeyFile = "desk-webhook-key.pem"
)

// persister saves the emulators' snapshot; saves never overlap.
type persister struct {
	path  string
	parts []snapshot.Part
	log   *slog.Logger
	mu    sync.Mutex
}

func newPersister(dir string, crmSrv *crm.Server, deskSrv *desk.Server, auth *zohoauth.Store, log *slog.Logger) *persister {
	return &persister{path: filepath.Join(dir, SnapshotFile), parts: []snapshot.Part{crmSrv, deskSrv, auth}, log: log}
}

// load reads the snapshot into the emulators; false when there is none yet.
func (p *persister) load() (bool, error) {
	start := time.Now()
	found, err := snapshot.Load(p.path, p.parts...)
	if found {
		p.log.Info("loaded the emulators' snapshot; the seed flags are ignored (make clean, or delete it, for a new world)",
			"file", p.path, "took", time.Since(start).Round(time.Millisecond))
	}
	return found, err
}

// save writes the snapshot.
func (p *persister) save(why string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	if err := snapshot.Save(p.path, p.parts...); err != nil {
		return err
	}
	level := slog.LevelInfo
	if why == "interval" {
		level = slog.LevelDebug
	}
	p.log.Log(context.Background(), level, "saved the emulators' snapshot", "why", why, "file", p.path,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loop saves every interval until ctx ends; a failed save is logged and tried again next time.
func (p *persister) loop(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.save("interval"); err != nil {
				p.log.Error("periodic snapshot failed", "err", err)
			}
		}
	}
}

// lockDataDir takes an exclusive lock on dir (a lock file in it) for the life of the process,
// so two emulators never save over each other's world; release gives it back.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another emulator is using the data directory %s: stop it first (or give this one another --data-dir)", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { _ = f.Close() }, nil
}

// signingKey reads the Desk webhook signing key from dir, creating it on first use.
func signingKey(dir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dir, SigningKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s holds no PEM block; %s", path, snapshot.StartOver)
		}
		key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; %s", path, err, snapshot.StartOver)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	body := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return key, nil
}
