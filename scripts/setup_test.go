// Package scripts holds the tests of the shell scripts beside it. setup.sh is run for real, in
// a copy of the repository layout, with a PATH that holds only the basic tools it needs plus
// stand-ins for apt-get, id and the programs apt-get would install. That way each test decides
// what is "installed" and whether it runs as root, and nothing on this machine is installed,
// removed or touched (the stand-in apt-get records its arguments and creates the programs it
// was asked for, so the script's checks after installing are exercised too).
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// basicTools are the programs setup.sh and the stand-ins run, linked into the sandbox's PATH.
var basicTools = []string{"bash", "cat", "cut", "sha256sum", "dirname", "mkdir", "chmod"}

// world is a sandbox for runs of setup.sh.
type world struct {
	t      *testing.T
	repo   string // copy of the repository layout setup.sh works in
	bin    string // the only directory on PATH
	pgRoot string // DESKCRM_SETUP_PG_GLOB points at pgRoot/*/bin/initdb
	log    string // calls of the stand-in apt-get and npm
}

// stub writes an executable shell script.
func stub(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// newWorld makes a sandbox in which `id -u` answers uid and nothing setup.sh looks for is
// installed.
func newWorld(t *testing.T, uid string) *world {
	t.Helper()
	tmp := t.TempDir()
	w := &world{t: t, repo: filepath.Join(tmp, "repo"), bin: filepath.Join(tmp, "bin"),
		pgRoot: filepath.Join(tmp, "postgresql"), log: filepath.Join(tmp, "calls.log")}
	script, err := os.ReadFile("setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join("..", "conformance", "crmsdk", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	for rel, body := range map[string][]byte{"scripts/setup.sh": script, "conformance/crmsdk/package-lock.json": lock} {
		p := filepath.Join(w.repo, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(w.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range basicTools {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("setup.sh needs %s: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(w.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	stub(t, filepath.Join(w.bin, "id"), "echo "+uid)
	return w
}

// installScript is the shell text that makes package $pkg's programs present, as the package
// would: the PostgreSQL server binaries under pgRoot, the others on PATH. npm records its
// calls and creates the node_modules directory of --prefix.
func (w *world) installScript() string {
	exe := func(path, body string) string {
		return `mkdir -p "$(dirname ` + path + `)"; printf '#!/bin/sh\n%s\n' '` + body + `' >` + path + `; chmod +x ` + path
	}
	npm := `echo "npm $*" >>` + w.log + `; while [ $# -gt 0 ]; do [ "$1" = --prefix ] && mkdir -p "$2/node_modules"; shift; done; exit 0`
	return `case $pkg in
  postgresql) ` + exe(w.pgRoot+"/15/bin/initdb", "exit 0") + ` ;;
  chromium | chromium-browser | gcc) ` + exe(w.bin+`/$pkg`, "exit 0") + ` ;;
  nodejs) ` + exe(w.bin+"/node", "echo 20") + ` ;;
  npm) ` + exe(w.bin+"/npm", npm) + ` ;;
esac`
}

// install makes packages present before setup.sh runs.
func (w *world) install(pkgs ...string) {
	w.t.Helper()
	for _, pkg := range pkgs {
		cmd := exec.Command("/bin/sh", "-c", w.installScript())
		cmd.Env = []string{"PATH=" + w.bin, "pkg=" + pkg}
		if out, err := cmd.CombinedOutput(); err != nil {
			w.t.Fatalf("install %s: %v\n%s", pkg, err, out)
		}
	}
}

// aptGet puts the stand-in apt-get on PATH. It records its arguments; with provides, an
// install also makes each package's programs present.
func (w *world) aptGet(provides bool) {
	body := `echo "apt-get $*" >>` + w.log
	if provides {
		body += `
[ "$1" = install ] || exit 0
for pkg in "$@"; do
` + w.installScript() + `
done`
	}
	stub(w.t, filepath.Join(w.bin, "apt-get"), body)
}

// run runs setup.sh with mode and extra environment; it returns stdout, stderr and the exit
// code.
func (w *world) run(mode string, env ...string) (string, string, int) {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(w.repo, "scripts", "setup.sh"), mode)
	cmd.Env = append([]string{"PATH=" + w.bin, "DESKCRM_SETUP_PG_GLOB=" + w.pgRoot + "/*/bin/initdb"}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("run setup.sh: %v", err)
	}
	return out.String(), errb.String(), code
}

// calls returns the recorded apt-get and npm calls, and forgets them.
func (w *world) calls() []string {
	w.t.Helper()
	b, err := os.ReadFile(w.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	_ = os.Remove(w.log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// chromiumPkg is the package setup.sh installs for Chromium on this distribution.
func chromiumPkg() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, l := range strings.Split(string(b), "\n") {
		if l == "ID=ubuntu" {
			return "chromium-browser"
		}
	}
	return "chromium"
}

// certsPkg is "ca-certificates " when this machine lacks the CA bundle (setup.sh then asks
// for it first), else "".
func certsPkg() string {
	if fi, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil && fi.Size() > 0 {
		return ""
	}
	return "ca-certificates "
}

// TestSetupAsRootInstallsWhatIsMissing runs `setup.sh test` as root on a machine with nothing:
// it installs every package with one apt-get call, then the pinned SDK with npm ci; a second
// run finds everything and does nothing.
func TestSetupAsRootInstallsWhatIsMissing(t *testing.T) {
	w := newWorld(t, "0")
	w.aptGet(true)
	out, errOut, code := w.run("test")
	if code != 0 {
		t.Fatalf("setup.sh test exited %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := []string{
		"apt-get update -qq",
		"apt-get install -y -qq --no-upgrade " + certsPkg() + "postgresql " + chromiumPkg() + " gcc libc6-dev nodejs npm",
		"npm ci --prefix conformance/crmsdk --no-audit --no-fund --loglevel=error",
	}
	if got := w.calls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out, "setup: installed ") {
		t.Errorf("no word of the install in stdout: %q", out)
	}

	out, errOut, code = w.run("test")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q; want a silent no-op", code, out, errOut)
	}
	if got := w.calls(); len(got) != 0 {
		t.Fatalf("second run called %v", got)
	}
}

// TestSetupKeepsWhatIsInstalled runs setup.sh where PostgreSQL is installed and only the
// browser is missing: it asks apt-get for Chromium alone and leaves PostgreSQL be.
func TestSetupKeepsWhatIsInstalled(t *testing.T) {
	w := newWorld(t, "0")
	w.install("postgresql", "gcc", "nodejs", "npm")
	w.aptGet(true)
	initdb := filepath.Join(w.pgRoot, "15", "bin", "initdb")
	before, err := os.ReadFile(initdb)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := w.run("test"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := w.calls()
	if len(got) < 2 || got[1] != "apt-get install -y -qq --no-upgrade "+certsPkg()+chromiumPkg() {
		t.Fatalf("calls %v; want apt-get to install %s only", got, chromiumPkg())
	}
	if after, err := os.ReadFile(initdb); err != nil || string(after) != string(before) {
		t.Fatalf("the installed PostgreSQL was touched: %v", err)
	}
}

// TestSetupNotRootPrintsTheCommand runs setup.sh as an ordinary user with things missing: it
// installs nothing and prints the exact command to run.
func TestSetupNotRootPrintsTheCommand(t *testing.T) {
	w := newWorld(t, "1000")
	w.install("nodejs", "npm")
	w.aptGet(true)
	_, errOut, code := w.run("test")
	if code == 0 {
		t.Fatal("setup.sh succeeded with PostgreSQL, Chromium and gcc missing")
	}
	pkgs := certsPkg() + "postgresql " + chromiumPkg() + " gcc libc6-dev"
	if want := "  sudo apt-get update && sudo apt-get install -y " + pkgs + "\n"; !strings.Contains(errOut, want) {
		t.Fatalf("stderr does not give the command %q:\n%s", want, errOut)
	}
	if got := w.calls(); len(got) != 0 {
		t.Fatalf("an ordinary user's run called %v", got)
	}
}

// TestSetupRunNeedsOnlyPostgres checks `setup.sh run` (make run): it wants the PostgreSQL
// server binaries and nothing of the test tools, and not even those with DATABASE_URL set.
func TestSetupRunNeedsOnlyPostgres(t *testing.T) {
	w := newWorld(t, "1000")
	w.aptGet(true)
	_, errOut, code := w.run("run")
	if want := "sudo apt-get install -y " + certsPkg() + "postgresql\n"; code == 0 || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d, stderr %q; want it to ask for %q", code, errOut, want)
	}
	out, errOut, code := w.run("run", "DATABASE_URL=postgres://elsewhere/db")
	if certsPkg() != "" {
		// Without a CA bundle the Go module proxy is unreachable, so it is asked for anyway.
		if want := "sudo apt-get install -y ca-certificates\n"; code == 0 || !strings.Contains(errOut, want) {
			t.Fatalf("with DATABASE_URL: exit %d, stderr %q; want it to ask for %q", code, errOut, want)
		}
		return
	}
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("with DATABASE_URL: exit %d, stdout %q, stderr %q; want a silent no-op", code, out, errOut)
	}
}

// TestSetupNoticesAFailedInstall checks that an apt-get that succeeds without providing the
// programs (a different layout, a snap stub) is an error naming what is still missing.
func TestSetupNoticesAFailedInstall(t *testing.T) {
	w := newWorld(t, "0")
	w.install("postgresql", "gcc", "nodejs", "npm")
	w.aptGet(false)
	_, errOut, code := w.run("test")
	if code == 0 || !strings.Contains(errOut, "still missing after apt-get install") || !strings.Contains(errOut, "Chromium") {
		t.Fatalf("exit %d, stderr %q; want it to say Chromium is still missing", code, errOut)
	}
}
