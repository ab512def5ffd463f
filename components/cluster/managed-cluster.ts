import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSource, normalizeIssuerUrl } from "./source";
import { checkManagedClusterSettings, NODE_GROUP_DEFAULTS } from "./settings";
import { PARTITIONS } from "../iam/names";
import { serializePolicy } from "../iam/policies";
import { argKey, checkArgsObject, checkClusterName, checkOneOf, checkTags, Problems } from "../validation";
import { withFormerType } from "../former-types";

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
    /** `aws`, `aws-cn` or `aws-us-gov`, for managed policy ARNs. Default: the partition of the AWS provider's region. */
    readonly partition?: string;
    /** Tags for the cluster and its node role. Default: none. */
    readonly tags?: Record<string, string>;
    /**
     * Further tags for the node role only: the node-pull tags of the
     * organization-scoped grants whose images the nodes pull (`nodePullTags`).
     */
    readonly nodeRoleTags?: Record<string, string>;
}

/**
 * Node role policies. `AmazonEC2ContainerRegistryPullOnly` is the node side of
 * a cross-account pull: the kubelet pulls with the node role, and both this
 * policy and the registry's repository policy must allow it (docs/aws-facts.md, path 1).
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
        checkArgsObject("ManagedCluster", name, args);
        const problems = new Problems(argKey);
        checkClusterName(problems, "clusterName", args.clusterName);
        if (args.partition !== undefined) {
            checkOneOf(problems, "partition", args.partition, PARTITIONS);
        }
        checkTags(problems, "tags", args.tags);
        checkTags(problems, "nodeRoleTags", args.nodeRoleTags);
        // Plain values are checked now; Outputs are the caller's to vouch for.
        const plain = (value: unknown) => (pulumi.Output.isInstance(value) ? undefined : value);
        checkManagedClusterSettings(problems, (field) => field, {
            version: plain(args.version),
            instanceType: plain(args.instanceType),
            desiredCapacity: plain(args.desiredCapacity),
            minSize: plain(args.minSize),
            maxSize: plain(args.maxSize),
            vpcId: plain(args.vpcId),
            subnetIds: plain(args.subnetIds),
        });
        problems.throwIfAny(`ManagedCluster "${name}"`);
        // The partition of the provider's region, unless given: managed policy ARNs must be in it.
        const partition = args.partition ?? aws.getPartitionOutput({}, { parent: this }).partition;
        this.nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            {
                assumeRolePolicy: serializePolicy({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "Ec2Nodes", Effect: "Allow", Principal: { Service: ["ec2.amazonaws.com"] }, Action: ["sts:AssumeRole"] }],
                }),
                description: `Nodes of EKS cluster ${args.clusterName}`,
                tags: Object.keys(args.nodeRoleTags ?? {}).length > 0 ? { ...args.tags, ...args.nodeRoleTags } : args.tags,
            },
            { parent: this },
        );
        for (const policy of NODE_MANAGED_POLICIES) {
            new aws.iam.RolePolicyAttachment(
                `${name}-node-${policy}`,
                { role: this.nodeRole.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}` },
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
                instanceType: args.instanceType ?? NODE_GROUP_DEFAULTS.instanceType,
                desiredCapacity: args.desiredCapacity ?? NODE_GROUP_DEFAULTS.desiredCapacity,
                minSize: args.minSize ?? NODE_GROUP_DEFAULTS.minSize,
                maxSize: args.maxSize ?? NODE_GROUP_DEFAULTS.maxSize,
                vpcId: args.vpcId,
                subnetIds: args.subnetIds,
                tags: args.tags,
            },
            { parent: this },
        );
        this.kubernetesProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.cluster.kubeconfigJson }, { parent: this });
        // Known once the cluster exists, and so an input that names it waits for it (docs/aws-facts.md, "Creation order").
        this.clusterName = this.cluster.oidcIssuer.apply(() => args.clusterName);
        this.oidcIssuerUrl = this.cluster.oidcIssuer.apply(normalizeIssuerUrl);
        this.nodeRoleArns = this.nodeRole.arn.apply((arn) => [arn]);
        this.registerOutputs({ clusterName: this.clusterName, oidcIssuerUrl: this.oidcIssuerUrl, nodeRoleArns: this.nodeRoleArns });
    }
}
