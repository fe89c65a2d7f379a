package main

// What the starter says when it cannot open what the sync sends back because the payload keys
// differ (DESKCRM_PAYLOAD_KEY of the starter and of the worker).

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"deskcrm/codec"
)

// encodedFailure is the message Temporal's SDK leaves in a failure whose message and stack
// trace it could not open (converter.EncodeCommonFailureAttributes).
const encodedFailure = "Encoded failure"

// sealedFailure explains an error of Temporal's holding a failure this starter could not open:
// the worker seals failures' messages with its payload key (codec.FailureConverter), and a
// starter with another key, or none, reads them as "Encoded failure", the SDK's placeholder,
// which says nothing. It returns the same error the codec gives for a payload it cannot open
// (codec.ErrUnknownKey, naming the key's id and the variable to set), or nil when err holds no
// such failure.
func sealedFailure(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if !strings.HasPrefix(e.Error(), encodedFailure) {
			continue
		}
		// An error made from a failure keeps the failure as it came (ErrorToFailure returns
		// it), with the sealed payload and the id of the key that sealed it in clear.
		for f := fc.ErrorToFailure(e); f != nil; f = f.GetCause() {
			p := f.GetEncodedAttributes()
			if p == nil || string(p.GetMetadata()[codec.MetadataEncoding]) != codec.EncodingEncrypted {
				continue
			}
			return fmt.Errorf("%w %q: set it as DESKCRM_PAYLOAD_KEY or add it to DESKCRM_PAYLOAD_OLD_KEYS (the worker's key; `starter` needs the same)",
				codec.ErrUnknownKey, string(p.GetMetadata()[codec.MetadataKeyID]))
		}
	}
	return nil
}

// readable returns err, or, when err holds a failure sealed with a payload key this starter
// does not have, the explanation sealedFailure gives instead of the SDK's "Encoded failure".
func readable(err error) error {
	if s := sealedFailure(err); s != nil {
		return s
	}
	return err
}

// isKeyProblem reports whether err is a payload that could not be opened for want of its key:
// this starter's (a key it does not hold, or no key at all: "binary/encrypted" is not
// supported), or the worker's, whose codec error comes back as text in a failed query.
func isKeyProblem(err error) bool {
	return errors.Is(err, codec.ErrUnknownKey) || strings.Contains(err.Error(), codec.ErrUnknownKey.Error()) ||
		codec.Hint(err) != "" || sealedFailure(err) != nil
}
