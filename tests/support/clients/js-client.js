/* global require, process, console */
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS run by node inside the pod */
/**
 * A small AWS SDK for JavaScript v3 program, run in an emulated pod by
 * tests/real-clients.test.ts: STSClient and ECRClient with no options, so
 * region and credentials come from the default chain (fromNodeProviderChain),
 * one call per operation given as JSON in argv[2], one JSON line per result.
 * Plain JavaScript: it runs under plain node in the pod.
 */
"use strict";
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { ECRClient, GetAuthorizationTokenCommand, BatchGetImageCommand, InitiateLayerUploadCommand, PutImageCommand } = require("@aws-sdk/client-ecr");

async function main() {
    const ops = JSON.parse(process.argv[2]);
    let sts;
    let ecr;
    const client = (name) => (name === "sts" ? (sts ??= new STSClient({})) : (ecr ??= new ECRClient({})));
    for (const op of ops) {
        const out = { op: op.kind };
        try {
            if (op.kind === "get-caller-identity") {
                out.arn = (await client("sts").send(new GetCallerIdentityCommand({}))).Arn;
            } else if (op.kind === "get-authorization-token") {
                const r = await client("ecr").send(new GetAuthorizationTokenCommand(op.registryIds ? { registryIds: op.registryIds } : {}));
                out.proxyEndpoint = r.authorizationData[0].proxyEndpoint;
            } else if (op.kind === "batch-get-image") {
                const r = await client("ecr").send(
                    new BatchGetImageCommand({ registryId: op.registryId, repositoryName: op.repository, imageIds: [{ imageTag: op.tag }] }),
                );
                out.digest = r.images.length > 0 ? r.images[0].imageId.imageDigest : null;
                out.failures = r.failures.length;
            } else if (op.kind === "initiate-layer-upload") {
                out.uploadId = (
                    await client("ecr").send(new InitiateLayerUploadCommand({ registryId: op.registryId, repositoryName: op.repository }))
                ).uploadId;
            } else if (op.kind === "put-image") {
                const r = await client("ecr").send(
                    new PutImageCommand({ registryId: op.registryId, repositoryName: op.repository, imageManifest: op.manifest, imageTag: op.tag }),
                );
                out.digest = r.image.imageId.imageDigest;
            } else {
                throw new Error(`unknown operation ${op.kind}`);
            }
            out.ok = true;
        } catch (error) {
            out.ok = false;
            out.code = error.Code ?? error.name ?? "Error";
            out.message = String(error.message ?? error);
        }
        console.log(JSON.stringify(out));
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(2);
});
