package kube_test

import "encoding/base64"

func base64URL(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
