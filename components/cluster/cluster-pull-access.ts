import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    ClusterIdentity,
    ClusterLimits,
    clusterDocumentSizes,
    clusterRoleTrustPolicy,
    ClusterPlan,
    eksIssuerStandIn,
    oversizedClusterDocuments,
    planClusterAccess,
} from "./plan";
import { validateWorkloads, WorkloadSpec } from "./spec";
import { WorkloadExport } from "../contract/stack-outputs";
import { checkGrantName, STS_AUDIENCE } from "../iam/names";
import { AWS_CONFIG_KEY, WorkloadPodSettings } from "./pod-settings";
import { DEFAULT_LIMITS } from "../iam/quotas";
import { checkLimits } from "../iam/quotas";
import {
    argKey,
    asArray,
    checkAccountId,
    checkArgsObject,
    checkClusterName,
    checkIssuerUrl,
    checkOneOf,
    checkRegion,
    checkTags,
    hideStack,
    Problems,
    ValidationError,
} from "../validation";
import { withFormerType } from "../former-types";

/** The EKS add-on that serves Pod Identity credentials on each node. */
export const POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent";

/**
 * A tag on what this component installs into the cluster's account for the
 * cluster as a whole (the add-on, the IAM OIDC provider), naming the stack
 * that owns it: the EKS program tells its own from someone else's before it
 * creates anything (see `preflightAdoptedCluster`).
 */
/** Makes a Patch resource take over the fields it sets from other field managers (@pulumi/kubernetes). */
const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

export const OWNER_TAG = "ecrpull.dev/owner";

/** `<organization>/<project>/<stack>` of the running stack. */
export function ownerTagValue(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

export interface ClusterPullAccessArgs {
    /** The registry account that holds the pull roles. */
    readonly registryAccountId: string;
    /** The cluster's account (where this component runs). */
    readonly clusterAccountId: string;
    /** The cluster's region. */
    readonly region: string;
    /** The EKS cluster's name. */
    readonly clusterName: string;
    /**
     * The cluster's OIDC issuer URL, `https://...`, no trailing slash. Pass
     * the cluster's own output (`ManagedCluster.oidcIssuerUrl`,
     * `ExistingCluster.oidcIssuerUrl`): everything here that names the
     * cluster (the Pod Identity add-on and associations, the roles' trust)
     * waits for it, so that the engine creates them after the cluster.
     */
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** The ServiceAccounts to create (or, with `existingServiceAccount`, to annotate), each with its grant and path. */
    readonly workloads: WorkloadSpec[];
    /**
     * Create each workload namespace too. Default false: namespaces usually
     * belong to someone else. Namespaces created here are kept when the stack
     * is destroyed: they may hold workloads this stack did not create.
     */
    readonly createNamespaces?: boolean;
    /**
     * Chained grants need an IAM OIDC provider for the issuer in this account:
     * `existing` (default) checks at deploy time that it is there, `create`
     * creates it (tagged with `OWNER_TAG`), `managed` trusts that the
     * cluster component created it.
     */
    readonly clusterOidcProvider?: string;
    /**
     * Pod Identity grants need the `eks-pod-identity-agent` add-on: `install`
     * (default) creates it (tagged with `OWNER_TAG`), `present` checks at
     * deploy time that it is there.
     */
    readonly podIdentityAgent?: string;
    /** Quotas this account's documents are measured against. Default: AWS's defaults (trust policy 2,048, inline role policies 10,240). */
    readonly limits?: Partial<ClusterLimits>;
    /** Tags for the IAM roles and the add-on. */
    readonly tags?: Record<string, string>;
    /**
     * Grants defined with an organization scope (`scope` in ecrpull:grants):
     * their roles here sit at IAM path `/ecrpull/<grant>/`, the path the
     * registry's trust recognises them by. Default: none.
     */
    readonly orgScopedGrants?: string[];
}

/** Beside the component, not a declared property: see `registryPlans` in registry-access.ts. */
const clusterPlans = new WeakMap<ClusterPullAccess, ClusterPlan>();

/**
 * The cluster side of every access path (docs/aws-facts.md, paths 2 to 4):
 * - federation: a ServiceAccount annotated with the registry's pull role;
 * - chaining: an IRSA role in this account whose only permission is assuming
 *   the pull role, a ServiceAccount (not annotated: see pod-settings.ts), and
 *   a ConfigMap with the AWS config that chains the two; each pod adds the
 *   settings `podSettings` returns (`withPullAccess`);
 * - Pod Identity: a role trusted by `pods.eks.amazonaws.com` whose only
 *   permission is assuming the pull role, and an association per
 *   ServiceAccount whose target role is the pull role.
 *
 * Every value is checked, and every document measured against its quota,
 * before anything is created. Pass the cluster's Kubernetes provider in
 * `opts.providers` (or `provider`).
 */
export class ClusterPullAccess extends pulumi.ComponentResource {
    /** Every ServiceAccount and how it reaches its pull role: the `workloads` stack output. */
    public readonly workloads: pulumi.Output<WorkloadExport[]>;
    /** The cluster's ARN, as Pod Identity session tags carry it. */
    public readonly clusterArn: pulumi.Output<string>;
    /** What a pod of each workload needs, by `<namespace>/<serviceAccount>`: the `podSpecs` stack output. */
    public readonly podSpecs: pulumi.Output<Record<string, WorkloadPodSettings>>;

    /** The computed plan: what `npm run plan` prints (TypeScript only). */
    get plan(): ClusterPlan {
        return clusterPlans.get(this)!;
    }

    /** What a pod running as `namespace/serviceAccount` needs (pass it to `withPullAccess`). TypeScript only. */
    podSettings(namespace: string, serviceAccount: string): WorkloadPodSettings {
        const settings = this.plan.podSettings[`${namespace}/${serviceAccount}`];
        if (!settings) {
            throw new ValidationError(`ClusterPullAccess podSettings`, [
                `"${namespace}/${serviceAccount}" is not one of its workloads: use one of ${Object.keys(this.plan.podSettings).join(", ") || "(none)"}.`,
            ]);
        }
        return settings;
    }

    constructor(name: string, args: ClusterPullAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:ClusterPullAccess", name, {}, withFormerType(opts, "ecrpull:cluster:ClusterPullAccess"));
        checkArgsObject("ClusterPullAccess", name, args);
        const problems = new Problems(argKey);
        checkAccountId(problems, "registryAccountId", args.registryAccountId);
        checkAccountId(problems, "clusterAccountId", args.clusterAccountId);
        checkRegion(problems, "region", args.region);
        checkClusterName(problems, "clusterName", args.clusterName);
        if (typeof args.oidcIssuerUrl === "string" || args.oidcIssuerUrl === undefined) {
            checkIssuerUrl(problems, "oidcIssuerUrl", args.oidcIssuerUrl);
        }
        checkOneOf(problems, "clusterOidcProvider", args.clusterOidcProvider ?? "existing", ["existing", "create", "managed"]);
        checkOneOf(problems, "podIdentityAgent", args.podIdentityAgent ?? "install", ["install", "present"]);
        checkLimits(problems, "limits", args.limits, ["trustPolicy", "rolePolicy"]);
        checkTags(problems, "tags", args.tags);
        validateWorkloads(args.workloads, problems);
        if (args.orgScopedGrants !== undefined) {
            asArray(problems, "orgScopedGrants", args.orgScopedGrants, "grant names")?.forEach((grant, i) =>
                checkGrantName(problems, `orgScopedGrants[${i}]`, grant),
            );
        }
        problems.throwIfAny(`ClusterPullAccess "${name}"`);

        const identity: ClusterIdentity = {
            registryAccountId: args.registryAccountId,
            clusterAccountId: args.clusterAccountId,
            region: args.region,
            clusterName: args.clusterName,
        };
        const plan = planClusterAccess(args.workloads, identity, args.orgScopedGrants ?? []);
        clusterPlans.set(this, plan);
        const limits: ClusterLimits = { trustPolicy: DEFAULT_LIMITS.trustPolicy, rolePolicy: DEFAULT_LIMITS.rolePolicy, ...args.limits };
        // Measured now, with the issuer when it is known and else with one as long as every EKS issuer of the region.
        const measuredIssuer = typeof args.oidcIssuerUrl === "string" ? args.oidcIssuerUrl : eksIssuerStandIn(args.region);
        const oversized = oversizedClusterDocuments(clusterDocumentSizes(plan, identity, measuredIssuer, limits));
        if (oversized.length > 0) {
            throw new ValidationError(`ClusterPullAccess "${name}"`, oversized);
        }

        this.workloads = pulumi.output([...plan.workloads]);
        this.clusterArn = pulumi.output(plan.clusterArn);
        this.podSpecs = pulumi.output({ ...plan.podSettings });
        const issuerUrl = pulumi.output(args.oidcIssuerUrl).apply((url) => {
            const issuerProblems = new Problems(argKey);
            checkIssuerUrl(issuerProblems, "oidcIssuerUrl", url);
            if (issuerProblems.list.length > 0) {
                throw hideStack(new pulumi.ResourceError(`ClusterPullAccess "${name}": ${issuerProblems.list.join(" ")}`, this, true));
            }
            return url;
        });
        // The cluster's name as an Output that waits for the cluster: a plain
        // string would let the engine create the add-on and the associations
        // while a new cluster is still being created (docs/aws-facts.md, "Creation order").
        const clusterName = issuerUrl.apply(() => args.clusterName);
        const usesPath = (path: string) => plan.clusterRoles.some((r) => r.path === path);

        const namespaces = new Map<string, k8s.core.v1.Namespace>();
        if (args.createNamespaces) {
            for (const namespace of [...new Set(plan.serviceAccounts.map((sa) => sa.namespace))].sort()) {
                namespaces.set(
                    namespace,
                    // Kept on destroy: deleting a namespace deletes every object in it, including ones this stack never created.
                    new k8s.core.v1.Namespace(`${name}-${namespace}`, { metadata: { name: namespace } }, { parent: this, retainOnDelete: true }),
                );
            }
        }
        const namespaceOf = (namespace: string) => namespaces.get(namespace)?.metadata.name ?? namespace;

        const existing = new Set(args.workloads.filter((w) => w.existingServiceAccount === true).map((w) => `${w.namespace}/${w.serviceAccount}`));
        const serviceAccounts = new Map<string, pulumi.Resource>();
        for (const sa of plan.serviceAccounts) {
            const key = `${sa.namespace}/${sa.name}`;
            const metadata = {
                name: sa.name,
                namespace: namespaceOf(sa.namespace),
                annotations: sa.annotations,
                labels: { "app.kubernetes.io/managed-by": "pulumi", "ecrpull.dev/grant": sa.grant, "ecrpull.dev/path": sa.path },
            };
            serviceAccounts.set(
                key,
                existing.has(key)
                    ? // Someone else's ServiceAccount (Helm, eksctl, by hand): server-side apply of our fields only;
                      // deleting the patch takes back just those fields, never the ServiceAccount. Forced, since
                      // the role annotation this stack decides may be owned by its creator (eksctl sets it), and
                      // server-side apply refuses to change another manager's field otherwise (Kubernetes docs,
                      // "Server-Side Apply", Conflicts; @pulumi/kubernetes Patch resources, pulumi.com/patchForce).
                      new k8s.core.v1.ServiceAccountPatch(
                          `${name}-${key}`,
                          { metadata: { ...metadata, annotations: { ...metadata.annotations, [PATCH_FORCE_ANNOTATION]: "true" } } },
                          { parent: this },
                      )
                    : new k8s.core.v1.ServiceAccount(`${name}-${key}`, { metadata }, { parent: this }),
            );
        }

        // Checks are awaited by the inputs of the resources that depend on
        // them, so a failure fails those resources with its message.
        let ready: pulumi.Output<unknown> = issuerUrl;

        // Chaining trusts the cluster's own OIDC provider in this account.
        let clusterProvider: aws.iam.OpenIdConnectProvider | undefined;
        const providerMode = args.clusterOidcProvider ?? "existing";
        const ownedTags = { ...args.tags, [OWNER_TAG]: ownerTagValue() };
        if (usesPath("chaining") && providerMode === "create") {
            clusterProvider = new aws.iam.OpenIdConnectProvider(
                `${name}-oidc`,
                { url: issuerUrl, clientIdLists: [STS_AUDIENCE], tags: ownedTags },
                { parent: this },
            );
        } else if (usesPath("chaining") && providerMode === "existing") {
            ready = pulumi.all([ready, issuerUrl.apply((url) => requireOidcProvider(url, name, this))]);
        }

        // Pod Identity needs its agent on the nodes.
        let agent: aws.eks.Addon | undefined;
        if (usesPath("podIdentity") && (args.podIdentityAgent ?? "install") === "install") {
            agent = new aws.eks.Addon(`${name}-pod-identity-agent`, { clusterName, addonName: POD_IDENTITY_AGENT_ADDON, tags: ownedTags }, { parent: this });
        } else if (usesPath("podIdentity")) {
            ready = pulumi.all([ready, clusterName.apply((cluster) => requireAddon(cluster, name, this))]);
        }

        for (const role of plan.clusterRoles) {
            const kind = role.path === "chaining" ? "chain" : "podid";
            const iamRole = new aws.iam.Role(
                `${name}-${kind}-${role.grant}`,
                {
                    name: role.roleName,
                    path: role.rolePath,
                    assumeRolePolicy: pulumi.all([issuerUrl, ready]).apply(([url]) => clusterRoleTrustPolicy(role, plan, identity, url)),
                    description: `Reaches the registry's pull role of grant "${role.grant}" by ${role.path === "chaining" ? "role chaining" : "EKS Pod Identity"}.`,
                    maxSessionDuration: 3600,
                    tags: args.tags,
                },
                // The trust names the provider: IAM refuses a trust whose Federated principal does not exist.
                // A new path (a grant moved to organization scope) replaces the role, and IAM
                // refuses a second role of the same name: the old one goes first.
                { parent: this, dependsOn: clusterProvider ? [clusterProvider] : [], deleteBeforeReplace: true },
            );
            new aws.iam.RolePolicy(
                `${name}-${kind}-${role.grant}-assume`,
                { role: iamRole.name, name: "assume-ecr-pull-role", policy: role.rolePolicy },
                { parent: this },
            );

            if (role.path === "podIdentity") {
                for (const sa of role.serviceAccounts) {
                    const account = serviceAccounts.get(`${sa.namespace}/${sa.name}`)!;
                    // EKS accepts an association whose target role does not exist yet: the target is
                    // in another account, and the documented order creates the association first and
                    // writes its externalId into the target's trust afterwards (EKS user guide,
                    // pod-id-assign-target-role; API reference, PodIdentityAssociation.externalId).
                    // The association role must exist and trust pods.eks.amazonaws.com
                    // (hashicorp/terraform-provider-aws#34717, #41483): it depends on it.
                    new aws.eks.PodIdentityAssociation(
                        `${name}-podid-${sa.namespace}/${sa.name}`,
                        {
                            clusterName,
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

        this.registerOutputs({ workloads: this.workloads, clusterArn: this.clusterArn, podSpecs: this.podSpecs });
    }
}

/** The documented check for `clusterOidcProvider: existing`: fail the deployment clearly when it is not there. */
async function requireOidcProvider(issuerUrl: string, name: string, parent: pulumi.Resource): Promise<void> {
    try {
        await aws.iam.getOpenIdConnectProvider({ url: issuerUrl }, { parent });
    } catch {
        throw hideStack(
            new pulumi.ResourceError(
                `ClusterPullAccess "${name}": chained grants need an IAM OIDC provider for ${issuerUrl} in this account, and there is none: set clusterOidcProvider (config ecrpull:cluster.oidcProvider) to "create", or create it with \`eksctl utils associate-iam-oidc-provider\`.`,
                parent,
                true,
            ),
        );
    }
}

/** The documented check for `podIdentityAgent: present`. */
async function requireAddon(clusterName: string, name: string, parent: pulumi.Resource): Promise<void> {
    try {
        await aws.eks.getAddon({ clusterName, addonName: POD_IDENTITY_AGENT_ADDON }, { parent });
    } catch {
        throw hideStack(
            new pulumi.ResourceError(
                `ClusterPullAccess "${name}": Pod Identity grants need the ${POD_IDENTITY_AGENT_ADDON} add-on on cluster ${clusterName}, and it is not installed: set podIdentityAgent (config ecrpull:cluster.podIdentityAgent) to "install", or install it with \`aws eks create-addon --cluster-name ${clusterName} --addon-name ${POD_IDENTITY_AGENT_ADDON}\`.`,
                parent,
                true,
            ),
        );
    }
}
