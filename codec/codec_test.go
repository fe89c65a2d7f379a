package codec

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

const secretValue = "ana.souza@example.test"

// customer is a value as the sync puts one in history.
type customer struct {
	Email string `json:"email"`
	Phone string `json:"phone"`
}

func TestSealAndOpen(t *testing.T) {
	k := newKey(t)
	c, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	dc := DataConverter(c)
	p, err := dc.ToPayload(customer{Email: secretValue, Phone: "+351 21 000 0000"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(p)
	if bytes.Contains(raw, []byte(secretValue)) || bytes.Contains(raw, []byte("json/plain")) {
		t.Fatalf("the sealed payload shows the value or its encoding: %q", raw)
	}
	if string(p.Metadata[MetadataEncoding]) != EncodingEncrypted || string(p.Metadata[MetadataKeyID]) != KeyID(k) ||
		string(p.Metadata[MetadataCipher]) != Cipher {
		t.Fatalf("metadata = %q", p.Metadata)
	}
	var back customer
	if err := dc.FromPayload(p, &back); err != nil || back.Email != secretValue {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	// Two seals of the same value differ (random nonce).
	p2, _ := dc.ToPayload(customer{Email: secretValue, Phone: "+351 21 000 0000"})
	if bytes.Equal(p.Data, p2.Data) {
		t.Fatal("the same value sealed twice gives the same bytes")
	}
	// Altered bytes, metadata naming another key, or a cut payload do not open.
	for name, alter := range map[string]func(*commonpb.Payload){
		"flipped bit":   func(q *commonpb.Payload) { q.Data[len(q.Data)-1] ^= 1 },
		"key id forged": func(q *commonpb.Payload) { q.Metadata[MetadataKeyID] = []byte(KeyID(newKey(t))) },
		"cut":           func(q *commonpb.Payload) { q.Data = q.Data[:8] },
	} {
		q := proto.Clone(p).(*commonpb.Payload)
		alter(q)
		if _, err := c.Decode([]*commonpb.Payload{q}); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// History written before encryption was on still decodes.
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}
	if out, err := c.Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Fatalf("plain payload: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	before, _ := New(k1)
	sealed, err := before.Encode([]*commonpb.Payload{{Data: []byte(secretValue)}})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := New(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rotated.Decode(sealed)
	if err != nil || string(out[0].Data) != secretValue {
		t.Fatalf("old history after rotation: %v", err)
	}
	fresh, _ := rotated.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if string(fresh[0].Metadata[MetadataKeyID]) != KeyID(k2) || rotated.KeyID() != KeyID(k2) {
		t.Fatalf("new payloads sealed with %s, want the current key %s", fresh[0].Metadata[MetadataKeyID], KeyID(k2))
	}
	withoutOld, _ := New(k2)
	if _, err := withoutOld.Decode(sealed); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), KeyID(k1)) {
		t.Fatalf("old key dropped: %v", err)
	}
	if _, err := New(k1[:16]); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}

// A failure whose message quotes a customer value is sealed too: the message and stack
// trace move into the encoded attributes.
func TestFailureMessagesAreSealed(t *testing.T) {
	c, _ := New(newKey(t))
	fc := FailureConverter(c)
	f := fc.ErrorToFailure(temporal.NewApplicationError("TYPE_MISMATCH: Phone "+secretValue+" is not a phone", "TYPE_MISMATCH"))
	raw, _ := proto.Marshal(f)
	if bytes.Contains(raw, []byte(secretValue)) {
		t.Fatalf("the failure shows the value: %q", raw)
	}
	if f.GetEncodedAttributes() == nil {
		t.Fatal("no encoded attributes")
	}
	back := fc.FailureToError(f)
	if !strings.Contains(back.Error(), secretValue) {
		t.Fatalf("decoded failure = %v", back)
	}
}

func TestHint(t *testing.T) {
	if h := Hint(errors.New("payload item 0: encoding binary/encrypted: payload encoding is not supported")); !strings.Contains(h, "DESKCRM_PAYLOAD_KEY") {
		t.Errorf("hint = %q", h)
	}
	if Hint(errors.New("connection refused")) != "" || Hint(nil) != "" {
		t.Error("a hint for an unrelated error")
	}
}

// FuzzDecode opens arbitrary "encrypted" payloads: it never panics, and nothing but what
// the codec sealed opens.
func FuzzDecode(f *testing.F) {
	k := make([]byte, KeySize) // fixed key: found inputs replay the same way
	c, err := New(k)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := c.Encode([]*commonpb.Payload{{Data: []byte(secretValue)}})
	f.Add(KeyID(k), sealed[0].Data)
	f.Add(KeyID(k), []byte{})
	f.Add("unknown", sealed[0].Data)
	f.Fuzz(func(t *testing.T, keyID string, data []byte) {
		p := &commonpb.Payload{Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(keyID)}, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p})
		if err != nil {
			return
		}
		if len(data) != len(sealed[0].Data) || string(out[0].Data) != secretValue {
			t.Fatalf("opened a payload the codec did not seal: %q", out[0].Data)
		}
	})
}
