/**
 * The ECR API (JSON 1.1, `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`,
 * ECR API reference): the pull calls, GetAuthorizationToken, and the push
 * calls PutImage and InitiateLayerUpload so that a push is refused by
 * evaluation like any other call. Errors are HTTP 400 with
 * `{"__type": "<Code>", "message": "…"}`.
 */
import * as crypto from "crypto";
import { ControlPlane, RequestContext, Session } from "./control-plane";
import { SignedRequest, verifySigV4 } from "./sigv4";
import { HttpAnswer } from "./sts";
import { WorldRepository } from "./world";

export const ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921.";

function json(status: number, body: unknown): HttpAnswer {
    return { status, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": crypto.randomUUID() }, body: JSON.stringify(body) };
}

export function ecrError(code: string, message: string, status = 400): HttpAnswer {
    return json(status, { __type: code, message });
}

/** The region an ECR API host serves: `api.ecr.<region>.amazonaws.com` (or the older `ecr.<region>…`). */
export function ecrRegionOfHost(host: string): string | undefined {
    return /^(?:api\.)?ecr\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

const ACTIONS: Record<string, string> = {
    GetAuthorizationToken: "ecr:GetAuthorizationToken",
    BatchGetImage: "ecr:BatchGetImage",
    GetDownloadUrlForLayer: "ecr:GetDownloadUrlForLayer",
    BatchCheckLayerAvailability: "ecr:BatchCheckLayerAvailability",
    PutImage: "ecr:PutImage",
    InitiateLayerUpload: "ecr:InitiateLayerUpload",
};

export async function handleEcr(plane: ControlPlane, ctx: RequestContext, request: SignedRequest, host: string, target: string): Promise<HttpAnswer> {
    const region = ecrRegionOfHost(host)!;
    const operation = target.slice(ECR_TARGET_PREFIX.length);
    const verified = verifySigV4(request, (akid) => plane.sessions.get(akid), { region, service: "ecr" });
    if (!verified.ok) {
        plane.record(ctx, {
            api: "ecr",
            caller: "unauthenticated",
            action: `ecr:${operation}`,
            resource: "*",
            verdict: "deny",
            reason: `${verified.code}: ${verified.message.split("\n")[0]}`,
        });
        const code =
            verified.code === "SignatureDoesNotMatch"
                ? "InvalidSignatureException"
                : verified.code === "InvalidClientTokenId"
                  ? "UnrecognizedClientException"
                  : verified.code;
        return ecrError(code, verified.message, 400);
    }
    const caller = plane.sessions.get(verified.accessKeyId)!;
    if (caller.expiration.getTime() <= Date.now()) {
        return ecrError("ExpiredTokenException", "The security token included in the request is expired");
    }
    const action = ACTIONS[operation];
    if (!action) {
        return ecrError("UnknownOperationException", "");
    }
    let input: Record<string, any>;
    try {
        input = JSON.parse(request.body.toString("utf8") || "{}");
    } catch {
        return ecrError("SerializationException", "Start of structure or map found where not expected.");
    }
    const denied = (resource: string) =>
        ecrError("AccessDeniedException", `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource}`);

    if (operation === "GetAuthorizationToken") {
        // No resource type: evaluated on "*" (docs/aws-facts.md; ECR API reference).
        if (!(await plane.ecr(ctx, caller, action))) {
            return denied("*");
        }
        const registries: string[] = input.registryIds?.length ? input.registryIds : [caller.account];
        const expiresAt = Math.floor(Date.now() / 1000) + 12 * 3600;
        const token = Buffer.from(`AWS:${crypto.randomBytes(48).toString("base64")}`).toString("base64");
        return json(200, {
            authorizationData: registries.map((id) => ({
                authorizationToken: token,
                expiresAt,
                proxyEndpoint: `https://${id}.dkr.ecr.${region}.amazonaws.com`,
            })),
        });
    }

    const registryId: string = input.registryId ?? caller.account;
    const name: string = input.repositoryName ?? "";
    const repository = plane.world.repositories.find((r) => r.account === registryId && r.region === region && r.name === name);
    const arn = repository?.arn ?? `arn:${plane.world.partition}:ecr:${region}:${registryId}:repository/${name}`;
    // Evaluated before the repository is looked up: a caller without access learns nothing of what exists.
    if (!(await plane.ecr(ctx, caller, action, { arn, policy: repository?.policy }))) {
        return denied(arn);
    }
    if (!repository) {
        return ecrError("RepositoryNotFoundException", `The repository with name '${name}' does not exist in the registry with id '${registryId}'`);
    }
    return answer(operation, input, repository, caller);
}

function answer(operation: string, input: Record<string, any>, repository: WorldRepository, caller: Session): HttpAnswer {
    const base = { registryId: repository.account, repositoryName: repository.name };
    switch (operation) {
        case "BatchGetImage": {
            const images: object[] = [];
            const failures: object[] = [];
            for (const id of (input.imageIds ?? []) as { imageTag?: string; imageDigest?: string }[]) {
                const image = repository.images.find(
                    (i) => (id.imageTag === undefined || i.tags.includes(id.imageTag)) && (id.imageDigest === undefined || i.digest === id.imageDigest),
                );
                if (image) {
                    images.push({
                        ...base,
                        imageId: { imageDigest: image.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
                        imageManifest: image.manifest,
                        imageManifestMediaType: image.mediaType,
                    });
                } else {
                    failures.push({ imageId: id, failureCode: "ImageNotFound", failureReason: "Requested image not found" });
                }
            }
            return json(200, { images, failures });
        }
        case "GetDownloadUrlForLayer": {
            const layer = repository.images.flatMap((i) => i.layers).find((l) => l.digest === input.layerDigest);
            if (!layer) {
                return ecrError("LayersNotFoundException", `Layer ${input.layerDigest} does not exist in repository ${repository.name}`);
            }
            return json(200, {
                downloadUrl: `https://prod-${repository.region}-starport-layer-bucket.s3.${repository.region}.amazonaws.com/${layer.digest.slice(7, 19)}`,
                layerDigest: layer.digest,
            });
        }
        case "BatchCheckLayerAvailability": {
            const layers = repository.images.flatMap((i) => i.layers);
            const digests: string[] = input.layerDigests ?? [];
            return json(200, {
                layers: digests
                    .filter((d) => layers.some((l) => l.digest === d))
                    .map((d) => ({ layerDigest: d, layerAvailability: "AVAILABLE", layerSize: layers.find((l) => l.digest === d)!.size })),
                failures: digests
                    .filter((d) => !layers.some((l) => l.digest === d))
                    .map((d) => ({ layerDigest: d, failureCode: "MissingLayerDigest", failureReason: "Could not find layer" })),
            });
        }
        case "InitiateLayerUpload":
            return json(200, { uploadId: crypto.randomUUID(), partSize: 10485760 });
        case "PutImage": {
            const digest = `sha256:${crypto
                .createHash("sha256")
                .update(String(input.imageManifest ?? ""))
                .digest("hex")}`;
            repository.images.push({
                tags: input.imageTag ? [input.imageTag] : [],
                digest,
                manifest: String(input.imageManifest ?? ""),
                mediaType: input.imageManifestMediaType ?? "",
                layers: [],
            });
            return json(200, { image: { ...base, imageId: { imageDigest: digest, imageTag: input.imageTag }, imageManifest: input.imageManifest } });
        }
        default:
            return ecrError("UnknownOperationException", `${operation} by ${caller.arn}`);
    }
}
