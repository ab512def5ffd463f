/**
 * Request builders for tests of the policy documents. The evaluator itself
 * lives in tools/report/evaluator.ts (the access report and the audit
 * use it too); it is re-exported here so the tests keep one import.
 */
import { Request } from "../../tools/report/evaluator";

export { allows, type Request } from "../../tools/report/evaluator";

/** A web-identity request as STS makes it for a service-account token. */
export function webIdentity(providerArn: string, issuerHostPath: string, namespace: string, serviceAccount: string, audience = "sts.amazonaws.com"): Request {
    return {
        principalType: "Federated",
        principal: providerArn,
        action: "sts:AssumeRoleWithWebIdentity",
        context: {
            [`${issuerHostPath}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${issuerHostPath}:aud`]: audience,
        },
    };
}

/** A request by a role session against a repository. */
export function roleSession(roleArn: string, action: string, resource?: string): Request {
    return { principalType: "AWS", principal: roleArn, action, resource, context: { "aws:PrincipalArn": roleArn } };
}

/** Actions a puller must never get. */
export const WRITE_ACTIONS = [
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:TagResource",
];

export const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** A Pod Identity session as EKS makes it: the association role, tagged with the pod's cluster, namespace and service account. */
export function podIdentitySession(roleArn: string, clusterArn: string, namespace: string, serviceAccount: string, action = "sts:AssumeRole"): Request {
    return {
        principalType: "AWS",
        principal: roleArn,
        action,
        context: {
            "aws:PrincipalArn": roleArn,
            "aws:RequestTag/eks-cluster-arn": clusterArn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": serviceAccount,
        },
    };
}
