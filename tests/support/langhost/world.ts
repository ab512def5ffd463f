/**
 * The fake cloud behind the language-host harness: what already exists in
 * each account (fixtures), what a create checks at the moment it reaches the
 * service, how long it takes, and what it leaves behind.
 *
 * The invoke answers and computed outputs themselves come from
 * `tools/engine/fake-cloud.ts`, shared with the mock engine; this module adds
 * what only a real deployment shows: existence checks and their errors, with
 * the texts the AWS provider (terraform-provider-aws, bridged by @pulumi/aws,
 * AWS SDK for Go v2 error format) and the Kubernetes provider print.
 */
import { createHash } from "crypto";
import { ExistingClusterFixture, ExistingRegistryFixture, FakeCloud, fakeRoleName, repositoryKey } from "../../../tools/engine/fake-cloud";
import { isUnknown } from "./wire";

/** A Kubernetes object that already exists in a cluster. */
export interface KubernetesObjectFixture {
    /** `ServiceAccount`, `ConfigMap`, ... */
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    /** Its annotations, owned by `fieldManager` (server-side apply's managedFields). */
    readonly annotations?: Readonly<Record<string, string>>;
    /** The field manager that set them: `eksctl`, `kubectl-client-side-apply`, `helm`... */
    readonly fieldManager?: string;
}

export interface ClusterFixture {
    /** `https://oidc.eks.<region>.amazonaws.com/id/<ID>` */
    readonly issuerUrl: string;
    readonly endpoint?: string;
    /** Installed add-ons (`eks-pod-identity-agent`). */
    readonly addons?: readonly string[];
    /** Tags of installed add-ons, by add-on name. */
    readonly addonTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Namespaces besides the four every cluster has. */
    readonly namespaces?: readonly string[];
    readonly objects?: readonly KubernetesObjectFixture[];
}

export interface AccountFixture {
    /** Role names. */
    readonly roles?: readonly string[];
    /** Tags of those roles, by name (what `aws.iam.getRole` reads: an adopted cluster's node-pull tags). */
    readonly roleTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Issuer URLs that have an IAM OIDC provider in this account. */
    readonly oidcProviders?: readonly string[];
    /** Tags of those providers, by issuer URL. */
    readonly oidcProviderTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** EKS clusters, by name. */
    readonly clusters?: Readonly<Record<string, ClusterFixture>>;
    /** ECR repository names. */
    readonly repositories?: readonly string[];
    /** What the programs' reads of registry resources find (adopted ones): encryption, images, a role's trust. */
    readonly registry?: ExistingRegistryFixture;
}

/** What exists before the runs, by account ID. */
export type WorldFixture = Readonly<Record<string, AccountFixture>>;

const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

interface ClusterState {
    issuerUrl: string;
    endpoint?: string;
    addons: Set<string>;
    addonTags: Map<string, Readonly<Record<string, string>>>;
    namespaces: Set<string>;
    /** `Kind/namespace/name` */
    objects: Set<string>;
    /** Annotations of existing objects and who owns them, by `kind/namespace/name`. */
    owned: Map<string, { annotations: Readonly<Record<string, string>>; fieldManager: string }>;
}

interface AccountState {
    roles: Set<string>;
    oidcProviders: Set<string>;
    /** By host path of the issuer. */
    oidcProviderTags: Map<string, Readonly<Record<string, string>>>;
    clusters: Map<string, ClusterState>;
    repositories: Set<string>;
    registry?: ExistingRegistryFixture;
    /** The fixture's role tags, by role name: the roles `aws.iam.getRole` finds. */
    roleTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const hostPath = (url: string) => url.replace(/^https:\/\//, "").replace(/\/+$/, "");

/** A fake request ID, stable for a resource, in the form AWS prints. */
function requestId(seed: string): string {
    const h = createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** An AWS SDK for Go v2 error as terraform-provider-aws wraps it. */
function awsError(what: string, service: string, operation: string, status: number, code: string, message: string, seed: string): string {
    return `${what}: operation error ${service}: ${operation}, https response error StatusCode: ${status}, RequestID: ${requestId(seed)}, ${code}: ${message}`;
}

/** The plural resource name the Kubernetes API uses in its messages. */
function kubernetesPlural(kind: string): string {
    const lower = kind.toLowerCase();
    return lower.endsWith("s") ? `${lower}es` : `${lower}s`;
}

/** Where a resource is created: the program's account and region. */
export interface Place {
    readonly accountId: string;
    readonly region: string;
}

/** A registered resource as the cloud sees it at create time. */
export interface CreateRequest {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    /** For Kubernetes objects: the cluster its provider points at, if known. */
    readonly kubernetesCluster?: string;
}

/**
 * Simulated duration of a create, in seconds, by type: an EKS cluster takes
 * minutes (the remote component waits for the control plane and the node
 * group), an add-on about a minute, IAM a second or two.
 */
export function createSeconds(type: string): number {
    if (type === "eks:index:Cluster") {
        return 600;
    }
    if (type === "aws:eks/addon:Addon") {
        return 60;
    }
    if (type === "aws:eks/podIdentityAssociation:PodIdentityAssociation") {
        return 5;
    }
    if (type.startsWith("pulumi:providers:")) {
        return 0;
    }
    if (type === "aws:iam/role:Role" || type === "aws:ecr/repository:Repository") {
        return 2;
    }
    return 1;
}

export class World {
    private readonly accounts = new Map<string, AccountState>();
    /** kubeconfig text of a cluster created here → its name (the fake kubeconfig does not name it). */
    private readonly kubeconfigs = new Map<string, string>();

    constructor(fixture: WorldFixture = {}) {
        for (const [accountId, account] of Object.entries(fixture)) {
            const state = this.account(accountId);
            account.roles?.forEach((r) => state.roles.add(r));
            state.roleTags = account.roleTags;
            account.oidcProviders?.forEach((u) => state.oidcProviders.add(hostPath(u)));
            Object.entries(account.oidcProviderTags ?? {}).forEach(([u, tags]) => state.oidcProviderTags.set(hostPath(u), tags));
            account.repositories?.forEach((r) => state.repositories.add(r));
            state.registry = account.registry;
            for (const [name, cluster] of Object.entries(account.clusters ?? {})) {
                state.clusters.set(name, {
                    issuerUrl: cluster.issuerUrl,
                    endpoint: cluster.endpoint,
                    addons: new Set(cluster.addons ?? []),
                    addonTags: new Map(Object.entries(cluster.addonTags ?? {})),
                    namespaces: new Set([...BUILTIN_NAMESPACES, ...(cluster.namespaces ?? [])]),
                    objects: new Set((cluster.objects ?? []).map((o) => `${o.kind}/${o.namespace}/${o.name}`)),
                    owned: new Map(
                        (cluster.objects ?? [])
                            .filter((o) => o.annotations)
                            .map((o) => [
                                `${o.kind}/${o.namespace}/${o.name}`,
                                { annotations: o.annotations!, fieldManager: o.fieldManager ?? "kubectl-client-side-apply" },
                            ]),
                    ),
                });
            }
        }
    }

    private account(accountId: string): AccountState {
        let state = this.accounts.get(accountId);
        if (!state) {
            state = { roles: new Set(), oidcProviders: new Set(), oidcProviderTags: new Map(), clusters: new Map(), repositories: new Set() };
            this.accounts.set(accountId, state);
        }
        return state;
    }

    /** The view `fakeInvoke` answers from, as of now. */
    fakeCloud(place: Place, stackReferences?: FakeCloud["stackReferences"]): FakeCloud {
        const account = this.account(place.accountId);
        const existingClusters: Record<string, ExistingClusterFixture> = {};
        for (const [name, cluster] of account.clusters) {
            existingClusters[name] = {
                issuerUrl: cluster.issuerUrl,
                endpoint: cluster.endpoint,
                addons: [...cluster.addons],
                addonTags: Object.fromEntries(cluster.addonTags),
                oidcProviderInAccount: account.oidcProviders.has(hostPath(cluster.issuerUrl)),
                oidcProviderTags: account.oidcProviderTags.get(hostPath(cluster.issuerUrl)),
            };
        }
        const existingRoles = Object.fromEntries(Object.entries(account.roleTags ?? {}).map(([name, tags]) => [name, { tags }]));
        return { accountId: place.accountId, region: place.region, existingClusters, stackReferences, existingRegistry: account.registry, existingRoles };
    }

    hasCluster(accountId: string, name: string): boolean {
        return this.account(accountId).clusters.has(name);
    }

    hasRole(accountId: string, name: string): boolean {
        return this.account(accountId).roles.has(name);
    }

    hasOidcProvider(accountId: string, issuerUrl: string): boolean {
        return this.account(accountId).oidcProviders.has(hostPath(issuerUrl));
    }

    /** The cluster a Kubernetes provider's kubeconfig points at. */
    clusterOfKubeconfig(kubeconfig: unknown): string | undefined {
        if (typeof kubeconfig !== "string") {
            return undefined;
        }
        const known = this.kubeconfigs.get(kubeconfig);
        if (known) {
            return known;
        }
        try {
            const parsed = JSON.parse(kubeconfig);
            return parsed.clusters?.[0]?.name ?? undefined;
        } catch {
            return undefined;
        }
    }

    /**
     * What the service says when the create reaches it: undefined when it
     * succeeds, else the provider's error text.
     */
    check(request: CreateRequest, place: Place): string | undefined {
        const { type, inputs } = request;
        const account = this.account(place.accountId);
        const seed = request.urn;
        switch (type) {
            case "eks:index:Cluster": {
                const name = inputs.name ?? request.name;
                if (account.clusters.has(name)) {
                    return awsError(
                        `creating EKS Cluster (${name})`,
                        "EKS",
                        "CreateCluster",
                        409,
                        "ResourceInUseException",
                        `Cluster already exists with name: ${name}`,
                        seed,
                    );
                }
                return undefined;
            }
            case "aws:eks/addon:Addon": {
                // upbound/configuration-aws-eks#9: "creating EKS Add-On (eks-cluster-123:aws-ebs-csi-driver):
                // ResourceNotFoundException: No cluster found for name: eks-cluster-123."
                const what = `creating EKS Add-On (${inputs.clusterName}:${inputs.addonName})`;
                const cluster = account.clusters.get(inputs.clusterName);
                if (!cluster) {
                    return awsError(what, "EKS", "CreateAddon", 404, "ResourceNotFoundException", `No cluster found for name: ${inputs.clusterName}.`, seed);
                }
                if (cluster.addons.has(inputs.addonName)) {
                    // crossplane-contrib/provider-aws#1310
                    return awsError(what, "EKS", "CreateAddon", 409, "ResourceInUseException", "Addon already exists.", seed);
                }
                return undefined;
            }
            case "aws:eks/podIdentityAssociation:PodIdentityAssociation": {
                // terraform-provider-aws internal/service/eks/pod_identity_association.go: the summary is
                // create.ProblemStandardMessage(EKS, creating, "Pod Identity Association", <unknown ID>).
                const what = "creating EKS (Elastic Kubernetes) Pod Identity Association (<unknown>)";
                if (!account.clusters.has(inputs.clusterName)) {
                    return awsError(
                        what,
                        "EKS",
                        "CreatePodIdentityAssociation",
                        404,
                        "ResourceNotFoundException",
                        `No cluster found for name: ${inputs.clusterName}.`,
                        seed,
                    );
                }
                const role = roleOfArn(inputs.roleArn);
                if (!role || role.accountId !== place.accountId || !account.roles.has(role.name)) {
                    // Retried for IAM propagation, then reported (hashicorp/terraform-provider-aws#34717).
                    return awsError(
                        what,
                        "EKS",
                        "CreatePodIdentityAssociation",
                        400,
                        "InvalidParameterException",
                        "Role provided in the request does not exist",
                        seed,
                    );
                }
                return undefined;
            }
            case "aws:iam/role:Role": {
                const name = inputs.name ?? fakeRoleName(request.name);
                const what = `creating IAM Role (${name})`;
                if (account.roles.has(name)) {
                    return awsError(what, "IAM", "CreateRole", 409, "EntityAlreadyExists", `Role with name ${name} already exists.`, seed);
                }
                const invalid = this.invalidPrincipal(inputs.assumeRolePolicy);
                if (invalid) {
                    // IAM resolves every principal of a trust policy when it is written: a role
                    // (hashicorp/terraform-provider-aws#8905, opstrace/opstrace#88) or an OIDC provider
                    // (terraform-aws-modules/terraform-aws-eks#2594) that does not exist fails with
                    // MalformedPolicyDocument.
                    return awsError(
                        what,
                        "IAM",
                        "CreateRole",
                        400,
                        "MalformedPolicyDocument",
                        `Invalid principal in policy: "${invalid.kind}":"${invalid.arn}"`,
                        seed,
                    );
                }
                return undefined;
            }
            case "aws:iam/rolePolicy:RolePolicy":
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
                const roleName = roleNameOf(inputs.role);
                if (!account.roles.has(roleName)) {
                    // ansible/ansible-modules-core#2065: "The role with name xxx cannot be found."
                    const [what, op] =
                        type === "aws:iam/rolePolicy:RolePolicy"
                            ? [`putting IAM Role (${roleName}) Policy (${inputs.name ?? request.name})`, "PutRolePolicy"]
                            : [`attaching IAM Policy (${inputs.policyArn}) to IAM Role (${roleName})`, "AttachRolePolicy"];
                    return awsError(what, "IAM", op, 404, "NoSuchEntity", `The role with name ${roleName} cannot be found.`, seed);
                }
                return undefined;
            }
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
                if (account.oidcProviders.has(hostPath(String(inputs.url)))) {
                    // getscaf/sfu-fullstack-template#75
                    return awsError(
                        "creating IAM OIDC Provider",
                        "IAM",
                        "CreateOpenIDConnectProvider",
                        409,
                        "EntityAlreadyExists",
                        `Provider with url ${inputs.url} already exists.`,
                        seed,
                    );
                }
                return undefined;
            }
            case "aws:ecr/repository:Repository": {
                if (account.repositories.has(repositoryKey(inputs.name, inputs.region, place.region))) {
                    return awsError(
                        `creating ECR Repository (${inputs.name})`,
                        "ECR",
                        "CreateRepository",
                        400,
                        "RepositoryAlreadyExistsException",
                        `The repository with name '${inputs.name}' already exists in the registry with id '${place.accountId}'`,
                        seed,
                    );
                }
                return undefined;
            }
            case "aws:ecr/repositoryPolicy:RepositoryPolicy":
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy": {
                const [what, op] =
                    type === "aws:ecr/repositoryPolicy:RepositoryPolicy"
                        ? [`creating ECR Repository Policy (${inputs.repository})`, "SetRepositoryPolicy"]
                        : [`creating ECR Lifecycle Policy (${inputs.repository})`, "PutLifecyclePolicy"];
                if (!account.repositories.has(repositoryKey(inputs.repository, inputs.region, place.region))) {
                    return awsError(
                        what,
                        "ECR",
                        op,
                        400,
                        "RepositoryNotFoundException",
                        `The repository with name '${inputs.repository}' does not exist in the registry with id '${place.accountId}'`,
                        seed,
                    );
                }
                if (type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && this.invalidPrincipal(inputs.policy)) {
                    // ECR checks every principal of a repository policy (terraform-aws-modules/terraform-aws-ecr#19,
                    // hashicorp/terraform-provider-aws#39064).
                    return awsError(
                        what,
                        "ECR",
                        op,
                        400,
                        "InvalidParameterException",
                        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
                        seed,
                    );
                }
                return undefined;
            }
            default:
                if (type.startsWith("kubernetes:") && !type.startsWith("pulumi:providers:")) {
                    return this.checkKubernetes(request);
                }
                return undefined;
        }
    }

    /**
     * A Kubernetes create: the namespace must exist, the object must not
     * (pulumi/pulumi-kubernetes#1224, #4278). A Patch resource is a
     * server-side apply: it takes an object that exists, and creates one that
     * does not (pulumi/pulumi-kubernetes#2194).
     */
    private checkKubernetes(request: CreateRequest): string | undefined {
        const typeKind = request.type.split(":").pop()!;
        const patch = typeKind.endsWith("Patch");
        const kind = patch ? typeKind.slice(0, -"Patch".length) : typeKind;
        const metadata = request.inputs.metadata ?? {};
        const name = metadata.name ?? request.name;
        const cluster = this.findCluster(request.kubernetesCluster);
        const label = kind === "Namespace" ? name : `${metadata.namespace ?? "default"}/${name}`;
        const what = `resource ${label} was not successfully created by the Kubernetes API server`;
        if (!cluster) {
            return `${what} : the cluster ${request.kubernetesCluster ?? "(unknown)"} does not exist`;
        }
        if (kind === "Namespace") {
            return cluster.namespaces.has(name) && !patch ? `${what} : namespaces "${name}" already exists` : undefined;
        }
        const namespace = metadata.namespace ?? "default";
        if (!cluster.namespaces.has(namespace)) {
            return `${what} : namespaces "${namespace}" not found`;
        }
        if (cluster.objects.has(`${kind}/${namespace}/${name}`) && !patch) {
            return `${what} : ${kubernetesPlural(kind)} "${name}" already exists`;
        }
        // Server-side apply refuses to change a field another manager owns unless forced
        // (Kubernetes docs, "Server-Side Apply", Conflicts); a Patch forces with pulumi.com/patchForce.
        const owner = patch ? cluster.owned.get(`${kind}/${namespace}/${name}`) : undefined;
        const annotations: Record<string, string> = metadata.annotations ?? {};
        const conflicts = Object.keys(annotations).filter((k) => owner && k in owner.annotations && owner.annotations[k] !== annotations[k]);
        if (owner && conflicts.length > 0 && annotations["pulumi.com/patchForce"] !== "true") {
            return `${what} : Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${conflicts.map((k) => `conflict with "${owner.fieldManager}": .metadata.annotations.${k}`).join(", ")}`;
        }
        return undefined;
    }

    private findCluster(name: string | undefined): ClusterState | undefined {
        if (!name) {
            return undefined;
        }
        for (const account of this.accounts.values()) {
            const cluster = account.clusters.get(name);
            if (cluster) {
                return cluster;
            }
        }
        return undefined;
    }

    /** The first principal of a policy document that names an IAM entity that does not exist. */
    private invalidPrincipal(document: unknown): { kind: string; arn: string } | undefined {
        if (typeof document !== "string") {
            return undefined;
        }
        let parsed: any;
        try {
            parsed = JSON.parse(document);
        } catch {
            return undefined;
        }
        const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
        for (const statement of statements) {
            const principal = statement?.Principal;
            if (!principal || typeof principal !== "object") {
                continue;
            }
            for (const kind of ["AWS", "Federated"]) {
                const values = principal[kind] === undefined ? [] : Array.isArray(principal[kind]) ? principal[kind] : [principal[kind]];
                for (const arn of values) {
                    if (typeof arn === "string" && !this.principalExists(kind, arn)) {
                        return { kind, arn };
                    }
                }
            }
        }
        return undefined;
    }

    private principalExists(kind: string, arn: string): boolean {
        if (kind === "Federated") {
            const match = /^arn:[^:]+:iam::(\d{12}):oidc-provider\/(.+)$/.exec(arn);
            // Domain names (accounts.google.com, cognito) and SAML providers are not modelled.
            return match ? this.account(match[1]).oidcProviders.has(match[2]) : true;
        }
        if (/^\d{12}$/.test(arn) || /^arn:[^:]+:iam::\d{12}:root$/.test(arn) || arn === "*") {
            return true;
        }
        const role = roleOfArn(arn);
        return role ? this.account(role.accountId).roles.has(role.name) : true;
    }

    /** What a successful create leaves behind. */
    apply(request: CreateRequest, place: Place, state: Record<string, any>): void {
        const { type, inputs } = request;
        const account = this.account(place.accountId);
        switch (type) {
            case "eks:index:Cluster": {
                const name = inputs.name ?? request.name;
                const issuerUrl = `https://${String(state.oidcIssuer)}`;
                account.clusters.set(name, {
                    issuerUrl,
                    addons: new Set(),
                    addonTags: new Map(),
                    namespaces: new Set(BUILTIN_NAMESPACES),
                    objects: new Set(),
                    owned: new Map(),
                });
                // createOidcProvider: @pulumi/eks creates the cluster's IAM OIDC provider in its account.
                if (inputs.createOidcProvider === true) {
                    account.oidcProviders.add(hostPath(issuerUrl));
                }
                if (typeof state.kubeconfigJson === "string") {
                    this.kubeconfigs.set(state.kubeconfigJson, name);
                }
                return;
            }
            case "aws:eks/addon:Addon":
                account.clusters.get(inputs.clusterName)?.addons.add(inputs.addonName);
                account.clusters.get(inputs.clusterName)?.addonTags.set(inputs.addonName, inputs.tags ?? {});
                return;
            case "aws:iam/role:Role":
                account.roles.add(state.name ?? inputs.name);
                return;
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
                account.oidcProviders.add(hostPath(String(inputs.url)));
                account.oidcProviderTags.set(hostPath(String(inputs.url)), inputs.tags ?? {});
                return;
            case "aws:ecr/repository:Repository":
                account.repositories.add(repositoryKey(inputs.name, inputs.region, place.region));
                return;
            default:
                if (type.startsWith("kubernetes:")) {
                    const cluster = this.findCluster(request.kubernetesCluster);
                    const kind = type
                        .split(":")
                        .pop()!
                        .replace(/Patch$/, "");
                    const metadata = inputs.metadata ?? {};
                    if (cluster && kind === "Namespace") {
                        cluster.namespaces.add(metadata.name);
                    } else if (cluster) {
                        cluster.objects.add(`${kind}/${metadata.namespace ?? "default"}/${metadata.name}`);
                    }
                }
        }
    }
}

function roleOfArn(arn: unknown): { accountId: string; name: string } | undefined {
    if (typeof arn !== "string" || isUnknown(arn)) {
        return undefined;
    }
    const match = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    return match ? { accountId: match[1], name: match[2] } : undefined;
}

/** `aws.iam.RolePolicy.role` takes a name or an ARN. */
function roleNameOf(role: unknown): string {
    return roleOfArn(role)?.name ?? String(role);
}
