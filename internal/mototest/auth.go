package mototest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// What moto 5.2.1 checks once authorization is on (verified against its
// source, moto/iam/access_control.py, and by the tests that use this mode):
//   - the request signature and that the access key belongs to an IAM user;
//   - Effect, Action/NotAction (case-sensitively, unlike IAM) and Resource
//     for calls naming an existing role (the resource is that role's ARN);
//   - an explicit Deny wins over an Allow.
//
// What it does not check, so a test must never read its "allowed" as proof:
//   - Condition elements: every condition of an identity policy counts as
//     met (iam:PermissionsBoundary, aws:RequestTag/..., aws:ResourceTag/...);
//   - the Resource of CreateRole, CreateOpenIDConnectProvider and policy
//     calls: moto evaluates them against "*" (it has no ARN for a role not
//     created yet), so a statement scoped to a path never matches them;
//   - NotResource: a statement with it is taken as matching, Deny or Allow.

// StartWithAuthorization starts moto in account with IAM authorization, as
// real IAM would: bootstrap runs first with the unrestricted test credentials
// (an administrator's setup), then every request must be signed by an IAM
// user's access key and allowed by that user's policies.
func StartWithAuthorization(t testing.TB, account string, bootstrap func(admin *iam.Client)) *Server {
	t.Helper()
	s := StartInAccount(t, account)
	bootstrap(s.AdminIAM())
	// moto lets INITIAL_NO_AUTH_ACTION_COUNT requests through unchecked
	// (infinite unless set); its reset-auth API sets that count and restarts
	// it, here to 0: authorization is on from the next request.
	resp, err := http.Post(s.Endpoint+"/moto-api/reset-auth", "text/plain", strings.NewReader("0"))
	if err != nil {
		t.Fatalf("turning moto's IAM authorization on: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("turning moto's IAM authorization on: HTTP %d", resp.StatusCode)
	}
	return s
}

// AdminIAM is an IAM client with the unrestricted test credentials (only
// usable before authorization is switched on).
func (s *Server) AdminIAM() *iam.Client {
	return s.IAMWith(AccessKeyID, SecretAccessKey)
}

// IAMWith is an IAM client of this server with the given access key. Its
// errors carry moto's real error code (AccessDenied, with moto's message
// naming the user and the action): see unwrapErrors.
func (s *Server) IAMWith(keyID, secret string) *iam.Client {
	return iam.New(iam.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		HTTPClient:   &http.Client{Transport: unwrapErrors{http.DefaultTransport}},
	})
}

// unwrapErrors adapts moto's authorization errors to IAM's wire format.
// moto answers a denied call with <ErrorResponse><Errors><Error>...: one
// level deeper than IAM's <ErrorResponse><Error>, so the SDK reports it as
// UnknownError and a test could not tell a denial from any other 403. Only
// that wrapper is removed; code and message are moto's own.
type unwrapErrors struct{ base http.RoundTripper }

func (u unwrapErrors) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := u.base.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.Replace(body, []byte("<Errors><Error>"), []byte("<Error>"), 1)
	body = bytes.Replace(body, []byte("</Error></Errors>"), []byte("</Error>"), 1)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// IsAccessDenied reports whether err is IAM's (moto's) authorization denial.
func IsAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" && strings.Contains(ae.ErrorMessage(), "is not authorized to perform")
}

// CreateUserWithPolicy creates an IAM user whose only policy is the inline
// document policy, and returns a new access key of it.
func CreateUserWithPolicy(t testing.TB, admin *iam.Client, user, policy string) (keyID, secret string) {
	t.Helper()
	ctx := context.Background()
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user)}); err != nil {
		t.Fatalf("CreateUser %s: %v", user, err)
	}
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user),
		PolicyName: aws.String(user), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy %s: %v", user, err)
	}
	key, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", user, err)
	}
	return aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
}

// EnvWith is Env with another access key (a user created on this server).
func (s *Server) EnvWith(keyID, secret string) []string {
	env := s.Env()
	for i, kv := range env {
		switch {
		case strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID="):
			env[i] = "AWS_ACCESS_KEY_ID=" + keyID
		case strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY="):
			env[i] = "AWS_SECRET_ACCESS_KEY=" + secret
		}
	}
	return env
}
