import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSource, normalizeIssuerUrl } from "./cluster-source";
import { serializePolicy } from "./policies";
import { withFormerType } from "./former-types";

export interface ManagedClusterArgs {
    /** The EKS cluster's name. */
    readonly clusterName: string;
    /** Kubernetes version. Default: EKS's default. */
    readonly version?: pulumi.Input<string>;
    /** Node instance type. Default `t3.large`. */
    readonly instanceType?: pulumi.Input<string>;
    /** Nodes in the default node group. Default 2. */
    readonly desiredCapacity?: pulumi.Input<number>;
    /** Fewest nodes in the default node group. Default 1. */
    readonly minSize?: pulumi.Input<number>;
    /** Most nodes in the default node group. Default 4. */
    readonly maxSize?: pulumi.Input<number>;
    /** The VPC. Default: the account's default VPC. */
    readonly vpcId?: pulumi.Input<string>;
    /** Subnets of the cluster and its nodes. Default: the VPC's subnets. */
    readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** `aws`, `aws-cn` or `aws-us-gov`, for managed policy ARNs. Default `aws`. */
    readonly partition?: string;
    /** Tags for the cluster and its node role. Default: none. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Node role policies. `AmazonEC2ContainerRegistryPullOnly` is the node side of
 * a cross-account pull: the kubelet pulls with the node role, and both this
 * policy and the registry's repository policy must allow it (facts.md, path 1).
 */
const NODE_MANAGED_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"];

/**
 * A new EKS cluster (@pulumi/eks) with an OIDC issuer and a node role this
 * component owns, so its ARN is known without reading the cluster back.
 */
export class ManagedCluster extends pulumi.ComponentResource implements ClusterSource {
    /** The @pulumi/eks cluster. */
    public readonly cluster: eks.Cluster;
    /** The role of the default node group, with AmazonEC2ContainerRegistryPullOnly. */
    public readonly nodeRole: aws.iam.Role;
    /** The EKS cluster's name. */
    public readonly clusterName: pulumi.Output<string>;
    /** `https://oidc.eks.<region>.amazonaws.com/id/<id>`: the issuer of its service-account tokens. */
    public readonly oidcIssuerUrl: pulumi.Output<string>;
    /** The roles the cluster's kubelets pull images with. */
    public readonly nodeRoleArns: pulumi.Output<string[]>;
    /** A Kubernetes provider for the cluster's API server. */
    public readonly kubernetesProvider: k8s.Provider;

    constructor(name: string, args: ManagedClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:ManagedCluster", name, {}, withFormerType(opts, "ecrpull:cluster:ManagedCluster"));
        const partition = args.partition ?? "aws";
        this.nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            {
                assumeRolePolicy: serializePolicy({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "Ec2Nodes", Effect: "Allow", Principal: { Service: ["ec2.amazonaws.com"] }, Action: ["sts:AssumeRole"] }],
                }),
                description: `Nodes of EKS cluster ${args.clusterName}`,
                tags: args.tags,
            },
            { parent: this },
        );
        for (const policy of NODE_MANAGED_POLICIES) {
            new aws.iam.RolePolicyAttachment(
                `${name}-node-${policy}`,
                { role: this.nodeRole.name, policyArn: `arn:${partition}:iam::aws:policy/${policy}` },
                { parent: this },
            );
        }
        this.cluster = new eks.Cluster(
            `${name}-cluster`,
            {
                name: args.clusterName,
                version: args.version,
                createOidcProvider: true,
                instanceRole: this.nodeRole,
                instanceType: args.instanceType ?? "t3.large",
                desiredCapacity: args.desiredCapacity ?? 2,
                minSize: args.minSize ?? 1,
                maxSize: args.maxSize ?? 4,
                vpcId: args.vpcId,
                subnetIds: args.subnetIds,
                tags: args.tags,
            },
            { parent: this },
        );
        this.kubernetesProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.cluster.kubeconfigJson }, { parent: this });
        this.clusterName = pulumi.output(args.clusterName);
        this.oidcIssuerUrl = this.cluster.oidcIssuer.apply(normalizeIssuerUrl);
        this.nodeRoleArns = this.nodeRole.arn.apply((arn) => [arn]);
        this.registerOutputs({ clusterName: this.clusterName, oidcIssuerUrl: this.oidcIssuerUrl, nodeRoleArns: this.nodeRoleArns });
    }
}
