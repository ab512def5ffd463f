import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSource, normalizeIssuerUrl } from "./source";
import { argKey, checkArgsObject, checkClusterName, checkRegion, hideStack, Problems } from "../validation";
import { checkAdoptedNodeRoleArns } from "./settings";
import { withFormerType } from "../former-types";

export interface ExistingClusterArgs {
    /** The EKS cluster's name in this account and region. */
    readonly clusterName: string;
    /** The cluster's region, for the kubeconfig's token command. */
    readonly region: string;
    /**
     * Roles of the cluster's nodes. EKS does not report them for the cluster as
     * a whole (each node group has its own), so they are given.
     */
    readonly nodeRoleArns: string[];
}

/**
 * Adopts a cluster that exists already (most users have one): reads its
 * issuer with `aws.eks.getCluster` and connects to it with a kubeconfig that
 * gets tokens from `aws eks get-token`, as `aws eks update-kubeconfig` does.
 * Creates nothing in AWS.
 */
export class ExistingCluster extends pulumi.ComponentResource implements ClusterSource {
    /** The EKS cluster's name. */
    public readonly clusterName: pulumi.Output<string>;
    /** `https://oidc.eks.<region>.amazonaws.com/id/<id>`, as EKS reports it. */
    public readonly oidcIssuerUrl: pulumi.Output<string>;
    /** The node roles given in the args. */
    public readonly nodeRoleArns: pulumi.Output<string[]>;
    /** A Kubernetes provider that gets tokens from `aws eks get-token`. */
    public readonly kubernetesProvider: k8s.Provider;

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:ExistingCluster", name, {}, withFormerType(opts, "ecrpull:cluster:ExistingCluster"));
        checkArgsObject("ExistingCluster", name, args);
        const problems = new Problems(argKey);
        checkClusterName(problems, "clusterName", args.clusterName);
        checkRegion(problems, "region", args.region);
        // A caller without types (another language, a config value) may pass one ARN as a string.
        const nodeRoleArns: readonly string[] | undefined =
            args.nodeRoleArns === undefined ? undefined : Array.isArray(args.nodeRoleArns) ? args.nodeRoleArns : [args.nodeRoleArns as unknown as string];
        checkAdoptedNodeRoleArns(problems, "nodeRoleArns", nodeRoleArns);
        problems.throwIfAny(`ExistingCluster "${name}"`);

        // An invoke that fails would surface as "error serializing property ..." on the first
        // resource that reads it; this says which cluster was not found, and where.
        const cluster = pulumi.output(
            aws.eks.getCluster({ name: args.clusterName }, { parent: this }).catch((error: unknown) => {
                throw hideStack(
                    new pulumi.ResourceError(`ExistingCluster "${name}": ${missingClusterMessage(args.clusterName, args.region, error)}`, this, true),
                );
            }),
        );
        this.clusterName = pulumi.output(args.clusterName);
        this.oidcIssuerUrl = cluster.apply((found) => {
            const issuer = found.identities?.[0]?.oidcs?.[0]?.issuer;
            if (!issuer) {
                throw hideStack(new pulumi.ResourceError(`ExistingCluster "${name}": EKS cluster ${args.clusterName} reports no OIDC issuer.`, this, true));
            }
            return normalizeIssuerUrl(issuer);
        });
        this.nodeRoleArns = pulumi.output([...nodeRoleArns!].sort()); // given: a missing list threw above
        const kubeconfig = cluster.apply((found) => kubeconfigFor(args.clusterName, args.region, found.endpoint, found.certificateAuthorities[0]?.data ?? ""));
        this.kubernetesProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig }, { parent: this });
        this.registerOutputs({ clusterName: this.clusterName, oidcIssuerUrl: this.oidcIssuerUrl, nodeRoleArns: this.nodeRoleArns });
    }
}

/** What to say when an adopted cluster cannot be read: which cluster, where, and the two usual causes. */
export function missingClusterMessage(clusterName: string, region: string, error: unknown): string {
    const cause = error instanceof Error ? error.message : String(error);
    return `the EKS cluster "${clusterName}" was not found in ${region}, or could not be read (${cause.trim() || "no details"}): check the name, the region and that the credentials belong to the cluster's account, or set cluster.create to true to create it.`;
}

/** A kubeconfig as `aws eks update-kubeconfig` writes it: the AWS CLI mints the token. */
export function kubeconfigFor(clusterName: string, region: string, endpoint: string, certificateAuthorityData: string): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": certificateAuthorityData } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [
            {
                name: clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
                    },
                },
            },
        ],
    });
}
