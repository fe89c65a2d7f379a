// Package codec encrypts what deskcrm writes into Temporal's workflow history: a
// converter.PayloadCodec with AES-256-GCM, the data and failure converters every client and
// worker uses when a payload key is configured, and the codec server the Temporal UI decodes
// history through.
//
// An encrypted payload keeps nothing of the original in clear: its metadata says
// "encoding: binary/encrypted", the cipher and the id of the key (the first 8 bytes of the
// key's SHA-256, hex); its data is a random 12-byte nonce followed by the sealed original
// payload (metadata and data, protobuf). Keys rotate by moving the old key to the old keys:
// new payloads use the current key, and history written with an old one still decodes.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"deskcrm/config"
)

// Metadata keys and values of an encrypted payload.
const (
	MetadataEncoding = converter.MetadataEncoding
	// EncodingEncrypted is the encoding of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that sealed the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher.
	MetadataCipher = "encryption-cipher"
	// Cipher is the only cipher used.
	Cipher = "AES-256-GCM"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// key is one AES-256-GCM key and its id.
type key struct {
	id   string
	aead cipher.AEAD
}

// Codec is a converter.PayloadCodec that seals payloads with the current key and opens
// payloads sealed with the current or an old key. Payloads that are not encrypted pass
// through Decode unchanged (history written before encryption was turned on).
type Codec struct {
	current key
	byID    map[string]key
}

var _ converter.PayloadCodec = (*Codec)(nil)

// KeyID is the id of a key as payloads name it: the first 8 bytes of its SHA-256, in hex.
func KeyID(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

// New returns a Codec that encrypts with current and decrypts with current or any of old.
// Every key must be KeySize bytes.
func New(current []byte, old ...[]byte) (*Codec, error) {
	c := &Codec{byID: map[string]key{}}
	for i, k := range append([][]byte{current}, old...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("codec: key %d is %d bytes, want %d", i, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		kk := key{id: KeyID(k), aead: aead}
		if i == 0 {
			c.current = kk
		}
		if _, dup := c.byID[kk.id]; !dup {
			c.byID[kk.id] = kk
		}
	}
	return c, nil
}

// FromConfig returns the Codec of DESKCRM_PAYLOAD_KEY and DESKCRM_PAYLOAD_OLD_KEYS, or nil
// when no key is set.
func FromConfig(t config.Temporal) (*Codec, error) {
	cur, old, err := t.PayloadKeys()
	if err != nil || cur == nil {
		return nil, err
	}
	return New(cur, old...)
}

// KeyID returns the id of the key new payloads are sealed with.
func (c *Codec) KeyID() string { return c.current.id }

// Encode seals each payload with the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, c.current.aead.NonceSize(), c.current.aead.NonceSize()+len(plain)+c.current.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataCipher:   []byte(Cipher),
				MetadataKeyID:    []byte(c.current.id),
			},
			Data: c.current.aead.Seal(nonce, nonce, plain, []byte(c.current.id)),
		}
	}
	return out, nil
}

// ErrUnknownKey is returned by Decode for a payload sealed with a key the Codec does not hold.
var ErrUnknownKey = errors.New("codec: payload sealed with an unknown key")

// Decode opens encrypted payloads; others are returned as they are.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		k, ok := c.byID[id]
		if !ok {
			return nil, fmt.Errorf("%w %q: set it as DESKCRM_PAYLOAD_KEY or add it to DESKCRM_PAYLOAD_OLD_KEYS", ErrUnknownKey, id)
		}
		data := p.GetData()
		n := k.aead.NonceSize()
		if len(data) < n+k.aead.Overhead() {
			return nil, errors.New("codec: encrypted payload too short")
		}
		plain, err := k.aead.Open(nil, data[:n], data[n:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: open payload sealed with key %s: %w", id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: unmarshal payload: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter is the default data converter with payloads sealed by c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter puts failures' messages and stack traces into an encoded payload sealed
// by c (Temporal's EncodeCommonAttributes), so that an error message quoting a value is not
// in clear in history either.
func FailureConverter(c *Codec) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: DataConverter(c), EncodeCommonAttributes: true,
	})
}

// Hint explains an error a binary without the payload key gets when it reads sealed
// payloads (the SDK's "payload encoding is not supported"); "" for other errors.
func Hint(err error) string {
	if err == nil || !strings.Contains(err.Error(), EncodingEncrypted) {
		return ""
	}
	return "the workflow's payloads are encrypted: give this command the worker's DESKCRM_PAYLOAD_KEY " +
		"(or DESKCRM_PAYLOAD_KEY_FILE; after `make run`: export DESKCRM_PAYLOAD_KEY_FILE=.data/payload.key)"
}
