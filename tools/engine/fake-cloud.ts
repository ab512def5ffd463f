/**
 * The fake cloud both program runners answer from: the mock engine
 * (`tools/engine/mock-engine.ts`, on the SDK's `setMocks`) and the language-host
 * harness (`tests/support/langhost/`, the real entry point served over gRPC).
 * One module, so that the fast mock runs and the real path see the same
 * invoke answers and the same provider outputs.
 *
 * - `fakeInvoke`: what a provider function returns (`aws.getCallerIdentity`,
 *   `aws.eks.getCluster`, ...), or the error it fails with.
 * - `fakeState`: the state a provider returns for a resource it created:
 *   the inputs plus what it computes (ARNs, URLs, the EKS issuer).
 * - `fakeId`: the ID the provider gives it.
 */
import { createHash } from "crypto";

/** What AWS knows of an adopted cluster. */
export interface ExistingClusterFixture {
    readonly issuerUrl: string;
    readonly endpoint?: string;
    /** Whether the cluster account has an IAM OIDC provider for the issuer. Default true. */
    readonly oidcProviderInAccount?: boolean;
    /** Installed add-ons. Default none. */
    readonly addons?: readonly string[];
    /** Tags of the installed add-ons, by add-on name (`ecrpull.dev/owner` says which stack installed it). */
    readonly addonTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Tags of the account's IAM OIDC provider for the issuer. */
    readonly oidcProviderTags?: Readonly<Record<string, string>>;
}

/** A subnet of the account, as `aws.ec2.getSubnet` describes it. */
export interface SubnetFixture {
    readonly vpcId: string;
    readonly availabilityZone: string;
}

/** What the registry account holds before the stack adopts it (made by hand, or by the seed recipes). */
export interface ExistingRegistryFixture {
    /** IAM OIDC providers, by ARN. */
    readonly oidcProviderArns?: readonly string[];
    /** Repositories, by name (`<name>@<region>` in another region): encryption (default AES-256), tag mutability (default MUTABLE, ECR's own default) and images. */
    readonly repositories?: Readonly<Record<string, ExistingRepositoryFixture>>;
    /** Repository creation templates, by region then prefix: their description. */
    readonly creationTemplates?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** IAM roles, by name: their path (default "/") and trust as IAM returns it (empty: not known). */
    readonly roles?: Readonly<Record<string, { readonly path?: string; readonly assumeRolePolicy: string }>>;
}

export interface ExistingRepositoryFixture {
    readonly encryptionType?: string;
    readonly kmsKey?: string;
    readonly imageTagMutability?: string;
    /** Tagged images (one tag each) and untagged images it holds. Default none. */
    readonly taggedImages?: number;
    readonly untaggedImages?: number;
}

/** The account and region the program's credentials and provider point at, and what exists there. */
export interface FakeCloud {
    /** The account the program's credentials belong to. */
    readonly accountId: string;
    readonly region: string;
    /** Clusters `aws.eks.getCluster` knows, by name. */
    readonly existingClusters?: Readonly<Record<string, ExistingClusterFixture>>;
    /** Outputs of referenced stacks, by fully qualified stack name. */
    readonly stackReferences?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    /** Subnets `aws.ec2.getSubnet` knows, by ID. */
    readonly subnets?: Readonly<Record<string, SubnetFixture>>;
    /** The account's default VPC in the region, if it has one. */
    readonly defaultVpcId?: string;
    /** Registry-account resources that exist before the stack runs. */
    readonly existingRegistry?: ExistingRegistryFixture;
    /** Other IAM roles of the account (an adopted cluster's node roles), by name: their path (default "/") and tags. */
    readonly existingRoles?: Readonly<Record<string, { readonly path?: string; readonly tags?: Readonly<Record<string, string>> }>>;
    /** Provider functions the credentials may not call (by token): they fail with AWS's AccessDenied. */
    readonly deniedInvokes?: readonly string[];
}

/** A stable fake EKS issuer ID for a cluster, as EKS makes one (32 hex digits, upper case). */
export function fakeIssuerId(seed: string): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, 32).toUpperCase();
}

export function partitionOfRegion(region: string): string {
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/** The token of the builtin provider's stack reference resource. */
export const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

/**
 * What a provider function returns. Throws what the provider reports when
 * the thing looked up does not exist (texts of terraform-provider-aws, which
 * @pulumi/aws bridges: "reading EKS Cluster (NAME): couldn't find resource",
 * as in terraform-aws-modules/terraform-aws-eks#2045).
 */
export function fakeInvoke(token: string, inputs: Record<string, any>, cloud: FakeCloud): Record<string, unknown> {
    const { accountId, region } = cloud;
    const partition = partitionOfRegion(region);
    if (cloud.deniedInvokes?.includes(token)) {
        // As the AWS provider reports an IAM refusal (aws-sdk-go-v2 operation error, HTTP 403).
        const operation = token.split(":").pop()!.replace(/^get/, "Get");
        throw new Error(
            `reading (${JSON.stringify(inputs)}): operation error: ${operation}, https response error StatusCode: 403, RequestID: 0f0e0d0c, api error AccessDenied: User: arn:${partition}:sts::${accountId}:assumed-role/deployer/pulumi is not authorized to perform this action`,
        );
    }
    switch (token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId, arn: `arn:${partition}:iam::${accountId}:role/deployer`, userId: "AROAEXAMPLE:deployer", id: accountId };
        case "aws:index/getRegion:getRegion":
            return { name: region, region, id: region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
        case "aws:eks/getCluster:getCluster": {
            const cluster = cloud.existingClusters?.[inputs.name];
            if (!cluster) {
                throw new Error(`reading EKS Cluster (${inputs.name}): couldn't find resource`);
            }
            return {
                name: inputs.name,
                arn: `arn:${partition}:eks:${region}:${accountId}:cluster/${inputs.name}`,
                endpoint: cluster.endpoint ?? `https://${fakeIssuerId(inputs.name)}.gr7.${region}.eks.amazonaws.com`,
                certificateAuthorities: [{ data: Buffer.from("fake-ca").toString("base64") }],
                identities: [{ oidcs: [{ issuer: cluster.issuerUrl }] }],
                id: inputs.name,
            };
        }
        case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
            if (inputs.arn !== undefined) {
                if (!cloud.existingRegistry?.oidcProviderArns?.includes(inputs.arn)) {
                    throw new Error(`reading IAM OIDC Provider (${inputs.arn}): couldn't find resource`);
                }
                const url = `https://${String(inputs.arn).replace(/^.*:oidc-provider\//, "")}`;
                return { arn: inputs.arn, url, clientIdLists: ["sts.amazonaws.com"], thumbprintLists: [], tags: {}, id: inputs.arn };
            }
            const cluster = Object.values(cloud.existingClusters ?? {}).find((c) => c.issuerUrl === inputs.url);
            if (!cluster || cluster.oidcProviderInAccount === false) {
                throw new Error(`finding IAM OIDC Provider (${inputs.url}): not found`);
            }
            const arn = `arn:${partition}:iam::${accountId}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`;
            return { arn, url: inputs.url, clientIdLists: ["sts.amazonaws.com"], thumbprintLists: [], tags: cluster.oidcProviderTags ?? {}, id: arn };
        }
        case "aws:eks/getAddon:getAddon": {
            const cluster = cloud.existingClusters?.[inputs.clusterName];
            if (!cluster?.addons?.includes(inputs.addonName)) {
                throw new Error(`reading EKS Add-On (${inputs.clusterName}:${inputs.addonName}): couldn't find resource`);
            }
            return {
                addonName: inputs.addonName,
                clusterName: inputs.clusterName,
                addonVersion: "v1.3.4-eksbuild.1",
                arn: `arn:${partition}:eks:${region}:${accountId}:addon/${inputs.clusterName}/${inputs.addonName}/${fakeIssuerId(inputs.clusterName).slice(0, 8)}`,
                tags: cluster.addonTags?.[inputs.addonName] ?? {},
                id: `${inputs.clusterName}:${inputs.addonName}`,
            };
        }
        case "aws:ecr/getRepository:getRepository": {
            const repository = cloud.existingRegistry?.repositories?.[repositoryKey(inputs.name, inputs.region, region)];
            if (!repository) {
                throw new Error(
                    `reading ECR Repository (${inputs.name}): RepositoryNotFoundException: The repository with name '${inputs.name}' does not exist in the registry with id '${accountId}'`,
                );
            }
            return {
                name: inputs.name,
                arn: `arn:${partition}:ecr:${inputs.region ?? region}:${accountId}:repository/${inputs.name}`,
                repositoryUrl: `${accountId}.dkr.ecr.${inputs.region ?? region}.amazonaws.com/${inputs.name}`,
                registryId: accountId,
                encryptionConfigurations: [{ encryptionType: repository.encryptionType ?? "AES256", kmsKey: repository.kmsKey ?? "" }],
                imageTagMutability: repository.imageTagMutability ?? "MUTABLE",
                id: inputs.name,
            };
        }
        case "aws:ecr/getImages:getImages": {
            const repository = cloud.existingRegistry?.repositories?.[repositoryKey(inputs.repositoryName, inputs.region, region)];
            if (!repository) {
                throw new Error(`reading ECR Images (${inputs.repositoryName}): RepositoryNotFoundException`);
            }
            const digest = (n: number) => `sha256:${createHash("sha256").update(`${inputs.repositoryName}/${n}`).digest("hex")}`;
            const tagged = Array.from({ length: repository.taggedImages ?? 0 }, (_, n) => ({ imageDigest: digest(n), imageTag: `v${n}` }));
            const untagged = Array.from({ length: repository.untaggedImages ?? 0 }, (_, n) => ({ imageDigest: digest(1_000_000 + n), imageTag: "" }));
            return { repositoryName: inputs.repositoryName, imageIds: [...tagged, ...untagged], id: inputs.repositoryName };
        }
        case "aws:ecr/getRepositoryCreationTemplate:getRepositoryCreationTemplate": {
            const where = inputs.region ?? region;
            const description = cloud.existingRegistry?.creationTemplates?.[where]?.[inputs.prefix];
            if (description === undefined) {
                throw new Error(`reading ECR Repository Creation Template (${inputs.prefix}): couldn't find resource`);
            }
            return { prefix: inputs.prefix, description, region: where, id: inputs.prefix };
        }
        case "aws:iam/getRole:getRole": {
            const role: { path?: string; assumeRolePolicy?: string; tags?: Readonly<Record<string, string>> } | undefined =
                cloud.existingRegistry?.roles?.[inputs.name] ?? cloud.existingRoles?.[inputs.name];
            if (!role) {
                throw new Error(`reading IAM Role (${inputs.name}): couldn't find resource`);
            }
            const path = role.path ?? "/";
            return {
                name: inputs.name,
                path,
                arn: `arn:${partition}:iam::${accountId}:role${path}${inputs.name}`,
                assumeRolePolicy: role.assumeRolePolicy ?? "",
                tags: { ...role.tags },
                id: inputs.name,
            };
        }
        case "aws:ec2/getSubnet:getSubnet": {
            const subnet = cloud.subnets?.[inputs.id];
            if (!subnet) {
                throw new Error(`no matching EC2 Subnet found`);
            }
            return { id: inputs.id, vpcId: subnet.vpcId, availabilityZone: subnet.availabilityZone };
        }
        case "aws:ec2/getVpc:getVpc": {
            if (!cloud.defaultVpcId) {
                throw new Error(`no matching EC2 VPC found`);
            }
            return { id: cloud.defaultVpcId, default: true };
        }
        default:
            throw new Error(`The mock engine has no answer for invoke ${token}.`);
    }
}

/** Existing repositories by name in the provider's region, `<name>@<region>` in another (the language-host world keys them so too). */
export function repositoryKey(name: string, region: string | undefined, providerRegion: string): string {
    return region === undefined || region === providerRegion ? name : `${name}@${region}`;
}

/** The ID a provider gives a resource it created (a stack reference's is the stack's name). */
export function fakeId(type: string, name: string, inputs: Record<string, any>): string {
    return type === STACK_REFERENCE_TYPE ? inputs.name : `${name}-id`;
}

/** The state a provider would return: the inputs plus the outputs it computes. */
export function fakeState(type: string, name: string, inputs: Record<string, any>, cloud: FakeCloud): Record<string, any> {
    const { accountId, region } = cloud;
    const partition = partitionOfRegion(region);
    switch (type) {
        case STACK_REFERENCE_TYPE: {
            const outputs = cloud.stackReferences?.[inputs.name];
            if (!outputs) {
                throw new Error(`unknown stack "${inputs.name}"`);
            }
            return { name: inputs.name, outputs, secretOutputNames: [] };
        }
        case "aws:iam/role:Role": {
            const roleName = inputs.name ?? fakeRoleName(name);
            return {
                ...inputs,
                name: roleName,
                arn: `arn:${partition}:iam::${accountId}:role${inputs.path ?? "/"}${roleName}`,
                uniqueId: `AROA${fakeIssuerId(roleName).slice(0, 17)}`,
            };
        }
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { ...inputs, arn: `arn:${partition}:iam::${accountId}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}` };
        case "aws:ecr/repository:Repository": {
            // A replica names its own region (@pulumi/aws 7's per-resource `region`).
            const where = inputs.region ?? region;
            return {
                ...inputs,
                region: where,
                arn: `arn:${partition}:ecr:${where}:${accountId}:repository/${inputs.name}`,
                repositoryUrl: `${accountId}.dkr.ecr.${where}.amazonaws.com/${inputs.name}`,
                registryId: accountId,
            };
        }
        case "eks:index:Cluster": {
            const issuerId = fakeIssuerId(`${accountId}/${inputs.name ?? name}`);
            return {
                ...inputs,
                oidcIssuer: `oidc.eks.${region}.amazonaws.com/id/${issuerId}`,
                oidcProviderUrl: `https://oidc.eks.${region}.amazonaws.com/id/${issuerId}`,
                oidcProviderArn: `arn:${partition}:iam::${accountId}:oidc-provider/oidc.eks.${region}.amazonaws.com/id/${issuerId}`,
                kubeconfigJson: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] }),
            };
        }
        default:
            return inputs;
    }
}

/** The name AWS gives a role created without one (Pulumi's auto-name: the resource name and a random suffix). */
export function fakeRoleName(resourceName: string): string {
    return `${resourceName}-${fakeIssuerId(resourceName).slice(0, 7).toLowerCase()}`;
}
