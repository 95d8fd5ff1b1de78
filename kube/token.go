package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// DecodeTokenClaims returns the issuer, subject and audiences of a
// ServiceAccount token (a JWS in compact form) without verifying its signature.
//
// That is deliberate: `iambind check --token` answers whether the rendered
// trust policies would admit these claims. AWS STS verifies the signature
// against the IAM OIDC provider's keys when the token is actually used; doing
// it here would need the cluster's JWKS and would prove nothing about IAM.
// Never use these claims to authenticate anyone.
func DecodeTokenClaims(jwt string) (iss, sub string, aud []string, err error) {
	parts := strings.Split(strings.TrimSpace(jwt), ".")
	if len(parts) != 3 {
		return "", "", nil, fmt.Errorf("token is not a JWT: %d dot-separated parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", "", nil, fmt.Errorf("token payload is not base64url: %w", err)
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", "", nil, fmt.Errorf("token payload is not a JSON object: %w", err)
	}
	// RFC 7519: aud is one string or an array of strings.
	if len(claims.Aud) > 0 && string(claims.Aud) != "null" {
		var one string
		if json.Unmarshal(claims.Aud, &one) == nil {
			aud = []string{one}
		} else if err := json.Unmarshal(claims.Aud, &aud); err != nil {
			return "", "", nil, fmt.Errorf("token claim aud is neither a string nor a list of strings")
		}
	}
	if claims.Iss == "" || claims.Sub == "" {
		return "", "", nil, fmt.Errorf("token has no iss or sub claim")
	}
	return claims.Iss, claims.Sub, aud, nil
}
