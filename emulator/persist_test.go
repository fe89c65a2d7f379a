package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"deskcrm/emulator/snapshot"
)

// binDir holds the emulator binary the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildEmulator compiles this command once per test binary.
var buildEmulator = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "deskcrm-emulator-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "emulator")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{err, out}
	}
	return bin, nil
})

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }

// proc is a running emulator process.
type proc struct {
	cmd       *exec.Cmd
	crm, desk string
	logs      *syncBuffer
	done      chan error
}

var listenRE = regexp.MustCompile(`msg="Zoho (CRM|Desk) emulator listening" url=(http://[^/ ]+)/`)

// startProc runs the emulator binary with args and waits until both APIs listen.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	bin, err := buildEmulator()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: exec.Command(bin, append([]string{"--crm-port", "0", "--desk-port", "0"}, args...)...),
		logs: &syncBuffer{}, done: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	urls := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.logs.Write([]byte(line + "\n"))
			if m := listenRE.FindStringSubmatch(line); m != nil {
				urls <- [2]string{m[1], m[2]}
			}
		}
		p.done <- p.cmd.Wait()
	}()
	for p.crm == "" || p.desk == "" {
		select {
		case u := <-urls:
			if u[0] == "CRM" {
				p.crm = u[1]
			} else {
				p.desk = u[1]
			}
		case err := <-p.done:
			t.Fatalf("the emulator exited before listening: %v\n%s", err, p.logs.String())
		}
	}
	return p
}

// stop sends SIGTERM, as make run's Ctrl-C does, and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Fatalf("the emulator did not stop cleanly: %v\n%s", err, p.logs.String())
	}
}

// api calls an emulator with a token and the Desk org id; it returns the status and body.
func api(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	}
	req.Header.Set("orgId", "1000000001")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func token(t *testing.T, base string) string {
	t.Helper()
	_, out := api(t, "POST", base+"/oauth/v2/token?grant_type=refresh_token&client_id=deskcrm-dev&client_secret=deskcrm-dev-secret&refresh_token=deskcrm-dev-refresh", "", nil)
	tok, _ := out["access_token"].(string)
	if tok == "" {
		t.Fatalf("no access token: %v", out)
	}
	return tok
}

// crmCreate creates a CRM contact and returns its id.
func crmCreate(t *testing.T, base, tok, name string) string {
	t.Helper()
	st, out := api(t, "POST", base+"/crm/v8/Contacts", tok, map[string]any{"data": []any{map[string]any{"Last_Name": name}}})
	data, _ := out["data"].([]any)
	if st != 201 || len(data) != 1 {
		t.Fatalf("create CRM contact: %d %v", st, out)
	}
	return data[0].(map[string]any)["details"].(map[string]any)["id"].(string)
}

// deskCreate creates a Desk contact and returns its id.
func deskCreate(t *testing.T, base, tok, name string) string {
	t.Helper()
	st, out := api(t, "POST", base+"/api/v1/contacts", tok, map[string]any{"lastName": name})
	if st != 200 {
		t.Fatalf("create Desk contact: %d %v", st, out)
	}
	return out["id"].(string)
}

// TestRestartKeepsTheWorld runs the emulator binary twice on one data directory: the second
// run loads the first's world instead of seeding (even with another seed), the first run's
// token and records are still there, and new records get new ids.
func TestRestartKeepsTheWorld(t *testing.T) {
	dir := t.TempDir()
	first := startProc(t, "--data-dir", dir, "--seed-contacts", "30", "--seed-accounts", "5", "--seed", "3", "--snapshot-interval", "0")
	tok := token(t, first.crm)
	crmID := crmCreate(t, first.crm, tok, "Before Restart")
	deskID := deskCreate(t, first.desk, tok, "Before Restart")
	_, count := api(t, "GET", first.desk+"/api/v1/contacts/count", tok, nil)
	first.stop(t)
	if !strings.Contains(first.logs.String(), "why=shutdown") {
		t.Fatalf("no snapshot on shutdown:\n%s", first.logs.String())
	}

	second := startProc(t, "--data-dir", dir, "--seed-contacts", "5", "--seed", "99", "--snapshot-interval", "0")
	if logs := second.logs.String(); !strings.Contains(logs, "loaded the emulators' snapshot") || strings.Contains(logs, "msg=seeding") {
		t.Fatalf("the second run did not load the snapshot, or seeded:\n%s", logs)
	}
	if st, out := api(t, "GET", second.crm+"/crm/v8/Contacts/"+crmID, tok, nil); st != 200 || !strings.Contains(jsonText(out), "Before Restart") {
		t.Fatalf("CRM contact %s after the restart: %d %v", crmID, st, out)
	}
	if st, out := api(t, "GET", second.desk+"/api/v1/contacts/"+deskID, tok, nil); st != 200 || out["lastName"] != "Before Restart" {
		t.Fatalf("Desk contact %s after the restart: %d %v", deskID, st, out)
	}
	if _, c := api(t, "GET", second.desk+"/api/v1/contacts/count", tok, nil); c["count"] != count["count"] {
		t.Fatalf("Desk contacts: %v after, %v before", c["count"], count["count"])
	}
	if next := crmCreate(t, second.crm, tok, "After Restart"); next <= crmID {
		t.Fatalf("CRM id after the restart %s is not past %s", next, crmID)
	}
	if next := deskCreate(t, second.desk, tok, "After Restart"); next <= deskID {
		t.Fatalf("Desk id after the restart %s is not past %s", next, deskID)
	}
	// One data directory, one emulator: a second one refuses to start while this one runs.
	out, err := exec.Command(second.cmd.Path, "--crm-port", "0", "--desk-port", "0", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another emulator is using the data directory "+dir) {
		t.Fatalf("a second emulator on the same data directory: %v\n%s", err, out)
	}
	second.stop(t)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBadSnapshotStopsTheStart starts the binary on a damaged snapshot and on one of a future
// version: it refuses to start, with a message naming the file and `make clean`.
func TestBadSnapshotStopsTheStart(t *testing.T) {
	future := func() []byte {
		var b bytes.Buffer
		_ = gob.NewEncoder(&b).Encode(struct {
			Magic   string
			Version int
		}{snapshot.Magic, snapshot.Version + 1})
		return b.Bytes()
	}
	for name, body := range map[string][]byte{"damaged": []byte("not a snapshot"), "future": future()} {
		dir := t.TempDir()
		path := filepath.Join(dir, SnapshotFile)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		bin, err := buildEmulator()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--crm-port", "0", "--desk-port", "0", "--data-dir", dir)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: the emulator started on a bad snapshot:\n%s", name, out)
		}
		want := []string{path, "make clean"}
		if name == "future" {
			want = append(want, "has version 2; this emulator reads version 1")
		} else {
			want = append(want, "damaged")
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Fatalf("%s: the error does not say %q:\n%s", name, w, out)
			}
		}
	}
}
