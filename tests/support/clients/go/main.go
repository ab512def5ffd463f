// A small AWS SDK for Go v2 program, run in an emulated pod by
// tests/real-clients.test.ts. It loads its configuration the way crane,
// kaniko and Flux do: config.LoadDefaultConfig with no options, so region
// and credentials come from the environment and shared config alone. One
// call per operation given as JSON in os.Args[1], one JSON line per result.
// Built offline against the Debian package golang-github-aws-aws-sdk-go-v2-dev
// (GOPATH mode, GOPROXY=off) by tests/support/clients/real-clients.ts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

type op struct {
	Kind        string   `json:"kind"`
	RegistryID  string   `json:"registryId"`
	RegistryIDs []string `json:"registryIds"`
	Repository  string   `json:"repository"`
	Tag         string   `json:"tag"`
	Manifest    string   `json:"manifest"`
}

func main() {
	var ops []op
	if err := json.Unmarshal([]byte(os.Args[1]), &ops); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, cfgErr := config.LoadDefaultConfig(ctx)
	var stsClient *sts.Client
	var ecrClient *ecr.Client
	if cfgErr == nil {
		stsClient = sts.NewFromConfig(cfg)
		ecrClient = ecr.NewFromConfig(cfg)
	}
	for _, o := range ops {
		out := map[string]interface{}{"op": o.Kind}
		err := cfgErr
		if err == nil {
			err = call(ctx, stsClient, ecrClient, o, out)
		}
		if err != nil {
			out["ok"] = false
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				out["code"] = apiErr.ErrorCode()
			} else {
				out["code"] = fmt.Sprintf("%T", err)
			}
			out["message"] = err.Error()
		} else {
			out["ok"] = true
		}
		line, _ := json.Marshal(out)
		fmt.Println(string(line))
	}
}

func call(ctx context.Context, s *sts.Client, e *ecr.Client, o op, out map[string]interface{}) error {
	switch o.Kind {
	case "get-caller-identity":
		r, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			out["arn"] = aws.ToString(r.Arn)
		}
		return err
	case "get-authorization-token":
		r, err := e.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: o.RegistryIDs})
		if err == nil && len(r.AuthorizationData) > 0 {
			out["proxyEndpoint"] = aws.ToString(r.AuthorizationData[0].ProxyEndpoint)
		}
		return err
	case "batch-get-image":
		r, err := e.BatchGetImage(ctx, &ecr.BatchGetImageInput{
			RegistryId:     aws.String(o.RegistryID),
			RepositoryName: aws.String(o.Repository),
			ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(o.Tag)}},
		})
		if err == nil {
			if len(r.Images) > 0 {
				out["digest"] = aws.ToString(r.Images[0].ImageId.ImageDigest)
			}
			out["failures"] = len(r.Failures)
		}
		return err
	case "initiate-layer-upload":
		r, err := e.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RegistryId: aws.String(o.RegistryID), RepositoryName: aws.String(o.Repository)})
		if err == nil {
			out["uploadId"] = aws.ToString(r.UploadId)
		}
		return err
	case "put-image":
		r, err := e.PutImage(ctx, &ecr.PutImageInput{
			RegistryId:     aws.String(o.RegistryID),
			RepositoryName: aws.String(o.Repository),
			ImageManifest:  aws.String(o.Manifest),
			ImageTag:       aws.String(o.Tag),
		})
		if err == nil {
			out["digest"] = aws.ToString(r.Image.ImageId.ImageDigest)
		}
		return err
	}
	return fmt.Errorf("unknown operation %s", o.Kind)
}
