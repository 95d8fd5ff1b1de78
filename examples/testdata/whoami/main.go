// Command whoami prints which credentials the AWS SDK's default credential
// chain finds in its environment and whose they are (sts GetCallerIdentity):
// "<credential source> <caller ARN>". TestInjectionCredentialChain runs it
// with exactly the env iambind-fn injected into a container.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		fail(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail(err)
	}
	fmt.Println(creds.Source, aws.ToString(id.Arn))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "whoami:", err)
	os.Exit(1)
}
