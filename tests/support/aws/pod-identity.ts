/**
 * The EKS Pod Identity agent on a node of one cluster, with the EKS Auth
 * service behind it (aws/eks-pod-identity-agent: pkg/handlers/eks_credential_handler.go,
 * internal/validation/request.go, pkg/errors/errors.go; EKS API reference,
 * AssumeRoleForPodIdentity; EKS user guide, pod-id-abac and pod-id-assign-target-role):
 *
 * GET http://169.254.170.23/v1/credentials with the token file's content as
 * `Authorization`. The agent checks the address it was called on and that a
 * token is there; EKS Auth checks that the token was signed by this
 * cluster's issuer, is meant for `pods.eks.amazonaws.com` and is not expired,
 * finds the association of (cluster, namespace, service account), assumes its
 * role as the service `pods.eks.amazonaws.com` with the session tags EKS sets
 * (and aws:SourceAccount / aws:SourceArn), then, for a target role, assumes
 * it from that session with the same tags. The answer is the container
 * credentials JSON (AccessKeyId, SecretAccessKey, Token, AccountId, Expiration).
 */
import * as crypto from "crypto";
import { ControlPlane, RequestContext, ServiceError } from "./control-plane";
import { audiences, parseJwt, verifyJwt } from "./jwt";
import { HttpAnswer } from "./sts";

export const POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com";
export const AGENT_HOST = "169.254.170.23";

function text(status: number, body: string): HttpAnswer {
    return { status, headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" }, body: `${body}\n` };
}

/**
 * HTTP status of each EKS Auth error: AccessDeniedException is 400 in the
 * service model (aws/api-models-aws eks-auth 2023-11-26); the others are
 * assumed 400 except ResourceNotFoundException (404). The agent passes the
 * status on (pkg/errors HandleCredentialFetchingError).
 */
const STATUS: Record<string, number> = { ResourceNotFoundException: 404 };

function eksAuthError(error: Omit<ServiceError, "status">): HttpAnswer {
    return text(STATUS[error.code] ?? 400, `[${crypto.randomUUID()}]: (${error.code}): ${error.message}, fault: client`);
}

export async function handleAgent(
    plane: ControlPlane,
    ctx: RequestContext,
    method: string,
    url: string,
    host: string,
    authorization: string,
): Promise<HttpAnswer> {
    if (method !== "GET" || url.split("?")[0] !== "/v1/credentials") {
        return text(404, "404 page not found");
    }
    const target = host.replace(/:80$/, "");
    if (target !== AGENT_HOST) {
        return text(403, `Access Denied. Called agent through invalid address, please use either [${AGENT_HOST} fd00:ec2::23] address not ${target}`);
    }
    const cluster = ctx.cluster;
    if (!cluster) {
        return text(500, "the emulated node belongs to no cluster");
    }
    const deny = (code: string, message: string, reason: string, caller = "unknown pod") => {
        plane.record(ctx, { api: "eks-auth", caller, action: "eks-auth:AssumeRoleForPodIdentity", resource: cluster.arn, verdict: "deny", reason });
        return eksAuthError({ code, message });
    };
    if (!authorization) {
        plane.record(ctx, {
            api: "eks-auth",
            caller: "unknown pod",
            action: "eks-auth:AssumeRoleForPodIdentity",
            resource: cluster.arn,
            verdict: "deny",
            reason: "no token sent",
        });
        return text(400, "Service account token cannot be empty");
    }
    const jwt = parseJwt(authorization);
    if (!jwt) {
        return text(400, "Service account token cannot be parsed: token is malformed");
    }
    const iss = String(jwt.claims.iss ?? "");
    const sub = String(jwt.claims.sub ?? "");
    const issuer = plane.world.issuers.get(cluster.issuerUrl);
    if (iss !== cluster.issuerUrl || !issuer || !verifyJwt(jwt, issuer.key.publicKey)) {
        return deny("InvalidTokenException", "Failed to validate token", `token not signed by ${cluster.name}'s issuer (iss ${iss})`, `${iss} ${sub}`);
    }
    if (!(Number(jwt.claims.exp) > Date.now() / 1000)) {
        return deny("ExpiredTokenException", "Service account token has expired", "token expired", `${iss} ${sub}`);
    }
    if (!audiences(jwt.claims).includes(POD_IDENTITY_AUDIENCE)) {
        return deny("InvalidTokenException", `Token audience is not ${POD_IDENTITY_AUDIENCE}`, `audience ${JSON.stringify(jwt.claims.aud)}`, `${iss} ${sub}`);
    }
    const k8s = (jwt.claims["kubernetes.io"] ?? {}) as { namespace?: string; serviceaccount?: { name?: string }; pod?: { name?: string; uid?: string } };
    const namespace = k8s.namespace ?? "";
    const serviceAccount = k8s.serviceaccount?.name ?? "";
    const association = plane.world.associations.find((a) => a.clusterArn === cluster.arn && a.namespace === namespace && a.serviceAccount === serviceAccount);
    if (!association) {
        return deny(
            "ResourceNotFoundException",
            "Pod Identity Association not found for the service account",
            `no association for ${namespace}/${serviceAccount} in ${cluster.name}`,
            sub,
        );
    }
    plane.record(ctx, {
        api: "eks-auth",
        caller: sub,
        action: "eks-auth:AssumeRoleForPodIdentity",
        resource: association.associationId,
        verdict: "allow",
        reason: "token and association",
    });

    const tags: Record<string, string> = {
        "eks-cluster-arn": cluster.arn,
        "eks-cluster-name": cluster.name,
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": serviceAccount,
        "kubernetes-pod-name": k8s.pod?.name ?? "",
        "kubernetes-pod-uid": k8s.pod?.uid ?? "",
    };
    const sessionName = `eks-${cluster.name}-${tags["kubernetes-pod-name"]}-${crypto.randomUUID()}`.slice(0, 64).replace(/-$/, "");
    const first = await plane.serviceAssumeRole(
        ctx,
        POD_IDENTITY_AUDIENCE,
        { account: cluster.account, arn: cluster.arn },
        association.roleArn,
        sessionName,
        tags,
        6 * 3600,
    );
    if (!first.ok) {
        return eksAuthError({ code: "AccessDeniedException", message: first.message });
    }
    let session = first.session;
    if (association.targetRoleArn) {
        // Credentials of a target role last (and are cached) less than an hour (EKS user guide, pod-id-assign-target-role).
        const second = await plane.assumeRole(ctx, session, association.targetRoleArn, sessionName, tags, 3600, "pod-identity");
        if (!second.ok) {
            return eksAuthError({ code: "AccessDeniedException", message: second.message });
        }
        session = second.session;
    }
    return {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
            AccessKeyId: session.accessKeyId,
            SecretAccessKey: session.secretAccessKey,
            Token: session.sessionToken,
            AccountId: session.account,
            Expiration: session.expiration.toISOString(),
        }),
    };
}
