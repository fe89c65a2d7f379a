package desk

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTHeader is the request header carrying the JWT of a webhook delivery.
const JWTHeader = "X-ZDesk-JWT"

// jwtLifetime is how long a delivery JWT is valid.
const jwtLifetime = 5 * time.Minute

// JWK is one RSA public key of the JWKS document.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is the document served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// keyID derives a stable key id from the public key.
func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// sign returns the RS256 JWT for a delivery to webhook id: iss
// "orgId:<org>", aud "webhookId:<id>", iat and exp.
func (m *hookManager) sign(webhookID string) (string, error) {
	now := m.s.now()
	claims := jwt.RegisteredClaims{
		Issuer:    "orgId:" + m.s.orgID,
		Audience:  jwt.ClaimStrings{"webhookId:" + webhookID},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = m.kid
	s, err := tok.SignedString(m.key)
	if err != nil {
		return "", fmt.Errorf("sign webhook jwt: %w", err)
	}
	return s, nil
}

// JWKS returns the public keys that verify webhook JWTs.
func (s *Server) JWKS() JWKS {
	pub := &s.hooks.key.PublicKey
	return JWKS{Keys: []JWK{{
		Kty: "RSA", Kid: s.hooks.kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

func (m *hookManager) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod())
		return
	}
	writeJSON(w, http.StatusOK, m.s.JWKS())
}
