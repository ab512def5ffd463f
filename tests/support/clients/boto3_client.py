"""A small boto3 program, run in an emulated pod by tests/real-clients.test.ts.

One boto3 Session with the default credential chain (nothing configured in
code), one call per operation given as JSON in argv[1], one JSON line per
result on stdout.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    ops = json.loads(sys.argv[1])
    session = boto3.session.Session()
    clients = {}

    def client(name):
        if name not in clients:
            clients[name] = session.client(name)
        return clients[name]

    for op in ops:
        kind = op["kind"]
        out = {"op": kind}
        try:
            if kind == "get-caller-identity":
                out["arn"] = client("sts").get_caller_identity()["Arn"]
            elif kind == "get-authorization-token":
                args = {"registryIds": op["registryIds"]} if op.get("registryIds") else {}
                data = client("ecr").get_authorization_token(**args)["authorizationData"]
                out["proxyEndpoint"] = data[0]["proxyEndpoint"]
            elif kind == "batch-get-image":
                r = client("ecr").batch_get_image(
                    registryId=op["registryId"], repositoryName=op["repository"], imageIds=[{"imageTag": op["tag"]}]
                )
                out["digest"] = r["images"][0]["imageId"]["imageDigest"] if r["images"] else None
                out["failures"] = len(r["failures"])
            elif kind == "initiate-layer-upload":
                r = client("ecr").initiate_layer_upload(registryId=op["registryId"], repositoryName=op["repository"])
                out["uploadId"] = r["uploadId"]
            elif kind == "put-image":
                r = client("ecr").put_image(
                    registryId=op["registryId"], repositoryName=op["repository"], imageManifest=op["manifest"], imageTag=op["tag"]
                )
                out["digest"] = r["image"]["imageId"]["imageDigest"]
            else:
                raise ValueError("unknown operation " + kind)
            out["ok"] = True
        except ClientError as e:
            out.update(ok=False, code=e.response["Error"]["Code"], message=e.response["Error"]["Message"])
        except Exception as e:  # credential and configuration errors
            out.update(ok=False, code=type(e).__name__, message=str(e))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
