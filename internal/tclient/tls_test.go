package tclient_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deskcrm/config"
	"deskcrm/internal/tclient"
)

// A self-hosted cluster with its own CA: TEMPORAL_TLS_CA's certificates are the roots and
// TEMPORAL_TLS_SERVER_NAME the name verified (a trial found no way to trust such a cluster);
// a file without a certificate is refused by name.
func TestTLSWithAPrivateCA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "deskcrm test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := tclient.Options(config.Temporal{Address: "temporal.internal:7233", TLSCAPath: ca, TLSServerName: "temporal.example"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsc := opts.ConnectionOptions.TLS
	if tlsc == nil || tlsc.RootCAs == nil || tlsc.ServerName != "temporal.example" {
		t.Fatalf("TLS config %+v, want the CA as roots and the server name", tlsc)
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tclient.Options(config.Temporal{TLSCAPath: bad}, nil, nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CA") {
		t.Errorf("a CA file without a certificate: %v, want it refused by name", err)
	}
}
