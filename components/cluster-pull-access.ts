import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AWS_CONFIG_KEY, ClusterIdentity, clusterRoleTrustPolicy, ClusterPlan, planClusterAccess } from "./cluster-plan";
import { validateWorkloads, WorkloadSpec } from "./cluster-spec";
import { WorkloadExport } from "./contract";
import { STS_AUDIENCE } from "./names";
import { argKey, checkAccountId, checkOneOf, checkRegion, Problems } from "./validation";
import { withFormerType } from "./former-types";

/** The EKS add-on that serves Pod Identity credentials on each node. */
export const POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent";

export interface ClusterPullAccessArgs {
    /** The registry account that holds the pull roles. */
    readonly registryAccountId: string;
    /** The cluster's account (where this component runs). */
    readonly clusterAccountId: string;
    /** The cluster's region. */
    readonly region: string;
    /** The EKS cluster's name. */
    readonly clusterName: string;
    /** The cluster's OIDC issuer URL, `https://...`; unknown in the first preview of a new cluster. */
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** The ServiceAccounts to create, each with its grant and path. */
    readonly workloads: WorkloadSpec[];
    /** Create each workload namespace too. Default false: namespaces usually belong to someone else. */
    readonly createNamespaces?: boolean;
    /**
     * Chained grants need an IAM OIDC provider for the issuer in this account:
     * `existing` (default) checks at deploy time that it is there, `create`
     * creates it, `managed` trusts that the cluster component created it.
     */
    readonly clusterOidcProvider?: string;
    /**
     * Pod Identity grants need the `eks-pod-identity-agent` add-on: `install`
     * (default) creates it, `present` checks at deploy time that it is there.
     */
    readonly podIdentityAgent?: string;
    /** Tags for the IAM roles and the add-on. */
    readonly tags?: Record<string, string>;
}

/** Beside the component, not a declared property: see `registryPlans` in registry-access.ts. */
const clusterPlans = new WeakMap<ClusterPullAccess, ClusterPlan>();

/**
 * The cluster side of every access path (facts.md, paths 2 to 4):
 * - federation: a ServiceAccount annotated with the registry's pull role;
 * - chaining: an IRSA role in this account whose only permission is assuming
 *   the pull role, a ServiceAccount annotated with it, and a ConfigMap with
 *   the AWS config that chains the two;
 * - Pod Identity: a role trusted by `pods.eks.amazonaws.com` whose only
 *   permission is assuming the pull role, and an association per
 *   ServiceAccount whose target role is the pull role.
 *
 * Pass the cluster's Kubernetes provider in `opts.providers` (or `provider`).
 */
export class ClusterPullAccess extends pulumi.ComponentResource {
    /** Every ServiceAccount and how it reaches its pull role: the `workloads` stack output. */
    public readonly workloads: pulumi.Output<WorkloadExport[]>;
    /** The cluster's ARN, as Pod Identity session tags carry it. */
    public readonly clusterArn: pulumi.Output<string>;

    /** The computed plan: what `npm run plan` prints (TypeScript only). */
    get plan(): ClusterPlan {
        return clusterPlans.get(this)!;
    }

    constructor(name: string, args: ClusterPullAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:ClusterPullAccess", name, {}, withFormerType(opts, "ecrpull:cluster:ClusterPullAccess"));
        const problems = new Problems(argKey);
        checkAccountId(problems, "registryAccountId", args.registryAccountId);
        checkAccountId(problems, "clusterAccountId", args.clusterAccountId);
        checkRegion(problems, "region", args.region);
        checkOneOf(problems, "clusterOidcProvider", args.clusterOidcProvider ?? "existing", ["existing", "create", "managed"]);
        checkOneOf(problems, "podIdentityAgent", args.podIdentityAgent ?? "install", ["install", "present"]);
        validateWorkloads(args.workloads, problems);
        problems.throwIfAny(`ClusterPullAccess "${name}"`);

        const identity: ClusterIdentity = {
            registryAccountId: args.registryAccountId,
            clusterAccountId: args.clusterAccountId,
            region: args.region,
            clusterName: args.clusterName,
        };
        const plan = planClusterAccess(args.workloads, identity);
        clusterPlans.set(this, plan);
        this.workloads = pulumi.output([...plan.workloads]);
        this.clusterArn = pulumi.output(plan.clusterArn);
        const issuerUrl = pulumi.output(args.oidcIssuerUrl);
        const usesPath = (path: string) => plan.clusterRoles.some((r) => r.path === path);

        const namespaces = new Map<string, k8s.core.v1.Namespace>();
        if (args.createNamespaces) {
            for (const namespace of [...new Set(plan.serviceAccounts.map((sa) => sa.namespace))].sort()) {
                namespaces.set(namespace, new k8s.core.v1.Namespace(`${name}-${namespace}`, { metadata: { name: namespace } }, { parent: this }));
            }
        }
        const namespaceOf = (namespace: string) => namespaces.get(namespace)?.metadata.name ?? namespace;

        const serviceAccounts = new Map<string, k8s.core.v1.ServiceAccount>();
        for (const sa of plan.serviceAccounts) {
            serviceAccounts.set(
                `${sa.namespace}/${sa.name}`,
                new k8s.core.v1.ServiceAccount(
                    `${name}-${sa.namespace}/${sa.name}`,
                    {
                        metadata: {
                            name: sa.name,
                            namespace: namespaceOf(sa.namespace),
                            annotations: sa.annotations,
                            labels: { "app.kubernetes.io/managed-by": "pulumi", "ecrpull.dev/grant": sa.grant, "ecrpull.dev/path": sa.path },
                        },
                    },
                    { parent: this },
                ),
            );
        }

        // Checks are awaited by the inputs of the resources that depend on
        // them, so a failure fails those resources with its message.
        let ready: pulumi.Output<void> = pulumi.output(undefined as void);

        // Chaining trusts the cluster's own OIDC provider in this account.
        let clusterProvider: aws.iam.OpenIdConnectProvider | undefined;
        if (usesPath("chaining") && args.clusterOidcProvider === "create") {
            clusterProvider = new aws.iam.OpenIdConnectProvider(
                `${name}-oidc`,
                { url: issuerUrl, clientIdLists: [STS_AUDIENCE], tags: args.tags },
                { parent: this },
            );
        } else if (usesPath("chaining") && (args.clusterOidcProvider ?? "existing") === "existing") {
            ready = issuerUrl.apply((url) => requireOidcProvider(url, name, this));
        }

        // Pod Identity needs its agent on the nodes.
        let agent: aws.eks.Addon | undefined;
        if (usesPath("podIdentity") && (args.podIdentityAgent ?? "install") === "install") {
            agent = new aws.eks.Addon(
                `${name}-pod-identity-agent`,
                { clusterName: args.clusterName, addonName: POD_IDENTITY_AGENT_ADDON, tags: args.tags },
                { parent: this },
            );
        } else if (usesPath("podIdentity")) {
            const check = pulumi.output(requireAddon(args.clusterName, name, this));
            ready = pulumi.all([ready, check]).apply(() => undefined);
        }

        for (const role of plan.clusterRoles) {
            const kind = role.path === "chaining" ? "chain" : "podid";
            const iamRole = new aws.iam.Role(
                `${name}-${kind}-${role.grant}`,
                {
                    name: role.roleName,
                    assumeRolePolicy: pulumi.all([issuerUrl, ready]).apply(([url]) => clusterRoleTrustPolicy(role, plan, identity, url)),
                    description: `Reaches the registry's pull role of grant "${role.grant}" by ${role.path === "chaining" ? "role chaining" : "EKS Pod Identity"}.`,
                    maxSessionDuration: 3600,
                    tags: args.tags,
                },
                { parent: this, dependsOn: clusterProvider ? [clusterProvider] : [] },
            );
            new aws.iam.RolePolicy(
                `${name}-${kind}-${role.grant}-assume`,
                { role: iamRole.name, name: "assume-ecr-pull-role", policy: role.rolePolicy },
                { parent: this },
            );

            if (role.path === "podIdentity") {
                for (const sa of role.serviceAccounts) {
                    const account = serviceAccounts.get(`${sa.namespace}/${sa.name}`)!;
                    new aws.eks.PodIdentityAssociation(
                        `${name}-podid-${sa.namespace}/${sa.name}`,
                        {
                            clusterName: args.clusterName,
                            namespace: sa.namespace,
                            serviceAccount: sa.name,
                            roleArn: iamRole.arn,
                            targetRoleArn: role.pullRoleArn,
                            tags: args.tags,
                        },
                        { parent: this, dependsOn: agent ? [agent, account] : [account] },
                    );
                }
            }
        }

        for (const config of plan.awsConfigs) {
            new k8s.core.v1.ConfigMap(
                `${name}-${config.namespace}/${config.name}`,
                {
                    metadata: {
                        name: config.name,
                        namespace: namespaceOf(config.namespace),
                        labels: { "app.kubernetes.io/managed-by": "pulumi", "ecrpull.dev/grant": config.grant },
                    },
                    data: { [AWS_CONFIG_KEY]: config.content },
                },
                { parent: this },
            );
        }

        this.registerOutputs({ workloads: this.workloads, clusterArn: this.clusterArn });
    }
}

/** The documented check for `clusterOidcProvider: existing`: fail the deployment clearly when it is not there. */
async function requireOidcProvider(issuerUrl: string, name: string, parent: pulumi.Resource): Promise<void> {
    try {
        await aws.iam.getOpenIdConnectProvider({ url: issuerUrl }, { parent });
    } catch {
        throw new pulumi.ResourceError(
            `ClusterPullAccess "${name}": chained grants need an IAM OIDC provider for ${issuerUrl} in this account, and there is none: set clusterOidcProvider (config ecrpull:cluster.oidcProvider) to "create", or create it with \`eksctl utils associate-iam-oidc-provider\`.`,
            parent,
        );
    }
}

/** The documented check for `podIdentityAgent: present`. */
async function requireAddon(clusterName: string, name: string, parent: pulumi.Resource): Promise<void> {
    try {
        await aws.eks.getAddon({ clusterName, addonName: POD_IDENTITY_AGENT_ADDON }, { parent });
    } catch {
        throw new pulumi.ResourceError(
            `ClusterPullAccess "${name}": Pod Identity grants need the ${POD_IDENTITY_AGENT_ADDON} add-on on cluster ${clusterName}, and it is not installed: set podIdentityAgent (config ecrpull:cluster.podIdentityAgent) to "install", or install it with \`aws eks create-addon --cluster-name ${clusterName} --addon-name ${POD_IDENTITY_AGENT_ADDON}\`.`,
            parent,
        );
    }
}
