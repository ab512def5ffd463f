/**
 * What the EKS program reads from AWS before it registers anything, so that
 * a stack that cannot deploy says why in its preview and never half-applies:
 * the adopted cluster itself, the cluster-wide objects a path needs (the IAM
 * OIDC provider for chaining, the Pod Identity agent add-on) and whether they
 * are someone else's, and where a created cluster's subnets are.
 *
 * Each function returns problems (whole sentences, without the subject)
 * instead of throwing, so the program reports them together, at once.
 */
import * as aws from "@pulumi/aws";
import { normalizeIssuerUrl } from "./source";
import { OWNER_TAG, POD_IDENTITY_AGENT_ADDON } from "./cluster-pull-access";
import { missingClusterMessage } from "./existing-cluster";
import { readIfExists, UnreadableError } from "../reads";

export interface AdoptedCluster {
    readonly issuerUrl: string;
}

/** Reads an adopted cluster; a problem instead when it cannot be read or has no issuer. */
export async function readAdoptedCluster(clusterName: string, region: string): Promise<AdoptedCluster | { problem: string }> {
    let found: aws.eks.GetClusterResult;
    try {
        found = await aws.eks.getCluster({ name: clusterName });
    } catch (error) {
        return { problem: missingClusterMessage(clusterName, region, error) };
    }
    const issuer = found.identities?.[0]?.oidcs?.[0]?.issuer;
    if (!issuer) {
        return { problem: `the EKS cluster "${clusterName}" reports no OIDC issuer; every access path but node pulls needs one.` };
    }
    return { issuerUrl: normalizeIssuerUrl(issuer) };
}

export interface ClusterObjectsCheck {
    readonly clusterName: string;
    readonly issuerUrl: string;
    /** Chained grants: `existing` needs the account's IAM OIDC provider for the issuer, `create` makes it. Undefined: no chained grant. */
    readonly oidcProvider?: string;
    /** Pod Identity grants: `present` needs the add-on, `install` installs it. Undefined: no Pod Identity grant. */
    readonly podIdentityAgent?: string;
    /** `OWNER_TAG`'s value for this stack: what it created carries it. */
    readonly owner: string;
}

const tagsOf = (tags: Record<string, string> | undefined) => tags ?? {};

/**
 * The cluster-wide objects of an adopted cluster: present when the stack is
 * told to use them; absent, or this stack's own (by `OWNER_TAG`), when it is
 * told to create them, since AWS refuses a second one and the stack must
 * never take over (and later delete) what someone else made.
 */
export async function checkClusterObjects(check: ClusterObjectsCheck): Promise<string[]> {
    const problems: string[] = [];
    if (check.oidcProvider !== undefined) {
        const provider = await readIfExists(
            aws.iam.getOpenIdConnectProvider({ url: check.issuerUrl }),
            `the IAM OIDC provider for ${check.issuerUrl}`,
            "iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider",
        );
        if (provider instanceof UnreadableError) {
            problems.push(provider.message);
        } else if (check.oidcProvider === "existing" && !provider) {
            problems.push(
                `chained grants need an IAM OIDC provider for ${check.issuerUrl} in this account, and there is none: set ecrpull:cluster.oidcProvider to "create", or create it with \`eksctl utils associate-iam-oidc-provider --cluster ${check.clusterName} --approve\`.`,
            );
        } else if (check.oidcProvider === "create" && provider && tagsOf(provider.tags)[OWNER_TAG] !== check.owner) {
            problems.push(
                `ecrpull:cluster.oidcProvider is "create", but this account already has the IAM OIDC provider ${provider.arn} for the cluster's issuer, and IAM refuses a second one: set ecrpull:cluster.oidcProvider to "existing" to use it. If this stack created it with release 0.2 (which did not tag what it created), tag it once: \`aws iam tag-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --tags Key=${OWNER_TAG},Value=${check.owner}\`.`,
            );
        }
    }
    if (check.podIdentityAgent !== undefined) {
        const addon = await readIfExists(
            aws.eks.getAddon({ clusterName: check.clusterName, addonName: POD_IDENTITY_AGENT_ADDON }),
            `the ${POD_IDENTITY_AGENT_ADDON} add-on of cluster ${check.clusterName}`,
            "eks:DescribeAddon",
        );
        if (addon instanceof UnreadableError) {
            problems.push(addon.message);
        } else if (check.podIdentityAgent === "present" && !addon) {
            problems.push(
                `Pod Identity grants need the ${POD_IDENTITY_AGENT_ADDON} add-on on cluster ${check.clusterName}, and it is not installed: set ecrpull:cluster.podIdentityAgent to "install", or install it with \`aws eks create-addon --cluster-name ${check.clusterName} --addon-name ${POD_IDENTITY_AGENT_ADDON}\`.`,
            );
        } else if (check.podIdentityAgent === "install" && addon && tagsOf(addon.tags)[OWNER_TAG] !== check.owner) {
            problems.push(
                `ecrpull:cluster.podIdentityAgent is "install", but the ${POD_IDENTITY_AGENT_ADDON} add-on is already installed on cluster ${check.clusterName} (${addon.addonVersion}), and EKS refuses to install it twice: set ecrpull:cluster.podIdentityAgent to "present" to use it. If this stack installed it with release 0.2 (which did not tag what it created), tag it once: \`aws eks tag-resource --resource-arn ${addon.arn} --tags ${OWNER_TAG}=${check.owner}\`.`,
            );
        }
    }
    return problems;
}

/**
 * An adopted cluster's node roles must carry the node-pull tag of each
 * organization-scoped grant its nodes pull (see org-scope.ts): the registry
 * recognises them by it. This stack did not create them and cannot tag
 * them, so a missing tag is reported with the command that adds it.
 */
export async function checkNodePullTags(key: string, nodeRoleArns: readonly string[], tags: Readonly<Record<string, string>>): Promise<string[]> {
    const wanted = Object.entries(tags);
    if (wanted.length === 0) {
        return [];
    }
    const names = nodeRoleArns.map((arn) => arn.slice(arn.lastIndexOf("/") + 1));
    const reads = await Promise.all(names.map((name) => readIfExists(aws.iam.getRole({ name }), `the node role ${name}`, "iam:GetRole")));
    return reads.flatMap((role, i) => {
        if (role instanceof UnreadableError) {
            return [role.message];
        }
        if (!role) {
            return [`${key}[${i}] "${nodeRoleArns[i]}" was not found in this account.`];
        }
        const missing = wanted.filter(([k, v]) => role.tags?.[k] !== v);
        if (missing.length === 0) {
            return [];
        }
        return [
            `the node role ${names[i]} lacks ${missing.map(([k, v]) => `${k}=${v}`).join(", ")}, by which the registry admits its kubelets' pulls of ${missing.length === 1 ? "that organization-scoped grant" : "those organization-scoped grants"} (this stack did not create the role, so it does not tag it): tag it once with \`aws iam tag-role --role-name ${names[i]} --tags ${missing.map(([k, v]) => `Key=${k},Value=${v}`).join(" ")}\` (a deployer the service control policy allows), or remove the grant from ecrpull:nodePullGrants and from the workloads.`,
        ];
    });
}

/**
 * A created cluster's subnets: each exists, lies in the cluster's VPC (the
 * account's default VPC when none is given) and together they span at least
 * two Availability Zones, which EKS requires (EKS user guide, "View Amazon
 * EKS networking requirements for VPC and subnets").
 */
export async function checkSubnets(key: string, vpcId: string | undefined, subnetIds: readonly string[]): Promise<string[]> {
    const problems: string[] = [];
    const vpc =
        vpcId ??
        (await aws.ec2.getVpc({ default: true }).then(
            (v) => v.id,
            () => undefined,
        ));
    const reads = await Promise.all(subnetIds.map((id, i) => readIfExists(aws.ec2.getSubnet({ id }), `${key}[${i}] "${id}"`, "ec2:DescribeSubnets")));
    const unreadable = reads.filter((r): r is UnreadableError => r instanceof UnreadableError);
    if (unreadable.length > 0) {
        return unreadable.map((r) => r.message);
    }
    const subnets = reads as (aws.ec2.GetSubnetResult | undefined)[];
    subnets.forEach((subnet, i) => {
        if (!subnet) {
            problems.push(`${key}[${i}] "${subnetIds[i]}" was not found in this account and region.`);
        } else if (vpc !== undefined && subnet.vpcId !== vpc) {
            problems.push(
                `${key}[${i}] "${subnetIds[i]}" is in ${subnet.vpcId}, not in the cluster's VPC ${vpc}${vpcId ? "" : " (the default VPC: set ecrpull:cluster.vpcId)"}.`,
            );
        }
    });
    const zones = new Set(subnets.filter((s) => s !== undefined).map((s) => s!.availabilityZone));
    if (subnets.every((s) => s !== undefined) && zones.size < 2) {
        problems.push(`${key} are all in ${[...zones].join(", ")}: EKS needs subnets in at least two Availability Zones.`);
    }
    return problems;
}
