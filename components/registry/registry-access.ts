import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { partitionOfRegion, PULL_ROLE_NAME_PREFIX, STS_AUDIENCE } from "../iam/names";
import { PullRepository } from "./pull-repository";
import { PullRole } from "./pull-role";
import { Adopted, adoptionTargetsOfPlan, AdoptSpec, repositoryAdoptionKey, resolveAdopted } from "./adopt";
import { checkLimits, QuotaLimits } from "../iam/quotas";
import { oversizedPolicies, planRegistry, RegistryPlan } from "./plan";
import { ClusterSpec, GrantSpec, REPOSITORY_DEFAULTS, RepositorySpec, validateRegistrySpec } from "./spec";
import { lifecyclePolicy } from "../iam/policies";
import { argKey, checkAccountId, checkArgsObject, checkOneOf, checkRegion, checkTags, Problems, ValidationError } from "../validation";
import { withFormerType } from "../former-types";

export interface RegistryAccessArgs {
    /** The registry account's ID (where this component runs). */
    readonly registryAccountId: string;
    /** The registry's region, for repository ARNs. */
    readonly region: string;
    /** `aws`, `aws-cn` or `aws-us-gov`. Default: the partition of `region`. */
    readonly partition?: string;
    /** Clusters whose workloads and nodes pull: usually built from EKS stack references. */
    readonly clusters: ClusterSpec[];
    /** Repositories this registry account owns. */
    readonly repositories: RepositorySpec[];
    /** Who may pull what. */
    readonly grants: GrantSpec[];
    /**
     * Regions to replicate every repository to, within this account: each
     * gets the repositories with the same settings and policies that admit
     * what pulls there (see `RegistrySpec.replicaRegions`). Default none.
     */
    readonly replicaRegions?: string[];
    /** Quotas to plan against, for accounts that raised theirs. Default: AWS's defaults (`DEFAULT_LIMITS`). */
    readonly limits?: Partial<QuotaLimits>;
    /** `roles` (default) or `accounts`: whom repository policies name for node pulls (see `RegistryContext`). */
    readonly nodePullScope?: string;
    /** Tags for every taggable resource. */
    readonly tags?: Record<string, string>;
    /**
     * OIDC providers, repositories and pull roles that exist already: taken
     * over (import them once with the file `ecrpull plan --import-file`
     * writes) and never deleted by this stack.
     */
    readonly adopt?: AdoptSpec;
}

/**
 * Plans live beside their components, not as declared properties: the
 * multi-language schema (PulumiPlugin.yaml) makes every declared property an
 * output, and a plan is TypeScript data, not an Output.
 */
const registryPlans = new WeakMap<RegistryAccess, RegistryPlan>();
const registryAdoptions = new WeakMap<RegistryAccess, Adopted>();

/**
 * Everything the registry account needs so that service accounts of EKS
 * clusters in other accounts (IRSA federated into this account) and those
 * clusters' nodes can pull: one OIDC provider per issuer, one pull role per
 * grant, and the repositories with policies that admit exactly those roles.
 *
 * All values are checked, and every document measured against its AWS limit,
 * before any resource is created.
 */
export class RegistryAccess extends pulumi.ComponentResource {
    /** The IAM OIDC provider of each cluster issuer that needs one, by issuer URL. */
    public readonly oidcProviderArns: pulumi.Output<Record<string, string>>;
    /** Each grant's pull role, by grant name (`<grant>.<shard>` for a sharded grant). */
    public readonly pullRoleArns: pulumi.Output<Record<string, string>>;
    /** Each repository's URL, by repository name. */
    public readonly repositoryUrls: pulumi.Output<Record<string, string>>;
    /** Each replica's URL, by region and repository name: what a cluster in that region pulls from. */
    public readonly replicaRepositoryUrls: pulumi.Output<Record<string, Record<string, string>>>;

    /** The computed documents: what `npm run plan` prints (TypeScript only). */
    get plan(): RegistryPlan {
        return registryPlans.get(this)!;
    }

    /** What `adopt` takes over, resolved against the plan (TypeScript only). */
    get adopted(): Adopted {
        return registryAdoptions.get(this)!;
    }

    constructor(name: string, args: RegistryAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecrpull:index:RegistryAccess", name, {}, withFormerType(opts, "ecrpull:registry:RegistryAccess"));
        checkArgsObject("RegistryAccess", name, args);
        const problems = new Problems(argKey);
        checkAccountId(problems, "registryAccountId", args.registryAccountId);
        checkRegion(problems, "region", args.region);
        if (args.partition !== undefined && typeof args.region === "string" && args.partition !== partitionOfRegion(args.region)) {
            problems.add(
                "partition",
                args.partition,
                `does not match the region ${JSON.stringify(args.region)}, whose partition is "${partitionOfRegion(args.region)}": every ARN would name the wrong partition. Leave partition out, or use "${partitionOfRegion(args.region)}".`,
            );
        }
        checkTags(problems, "tags", args.tags);
        if (args.nodePullScope !== undefined) {
            checkOneOf(problems, "nodePullScope", args.nodePullScope, ["roles", "accounts"]);
        }
        checkLimits(problems, "limits", args.limits);
        validateRegistrySpec(args, problems);
        problems.throwIfAny(`RegistryAccess "${name}"`);

        const plan = planRegistry(args, {
            registryAccountId: args.registryAccountId,
            region: args.region,
            partition: args.partition ?? partitionOfRegion(args.region),
            limits: args.limits,
            nodePullScope: args.nodePullScope,
        });
        registryPlans.set(this, plan);
        // Same-account requests need only the identity policy (docs/aws-facts.md, path 1),
        // and node roles pull from "*": repository policies cannot narrow them.
        for (const cluster of args.clusters.filter((c) => c.accountId === args.registryAccountId)) {
            pulumi.log.warn(
                `cluster "${cluster.name}" runs in the registry account ${args.registryAccountId}: its node roles' own ECR policy lets them pull every repository of this account, whatever the repository policies say. Run clusters in other accounts for per-repository node pulls.`,
                this,
            );
        }
        const oversized = oversizedPolicies(plan);
        if (oversized.length > 0) {
            throw new ValidationError(`RegistryAccess "${name}"`, oversized);
        }
        // A remedy that widens access says so, and by how much, in every preview.
        for (const widening of plan.widenings) {
            pulumi.log.warn(widening, this);
        }
        // So does a trust written by pattern: whom it admits, and what closes the rest.
        for (const admission of plan.admissions) {
            pulumi.log.warn(admission, this);
        }
        const adoptProblems = new Problems(argKey);
        const adopted = resolveAdopted(args.adopt, adoptionTargetsOfPlan(plan), args.registryAccountId, adoptProblems);
        adoptProblems.throwIfAny(`RegistryAccess "${name}"`);
        registryAdoptions.set(this, adopted);

        const providers = new Map(
            plan.providers.map((p) => [
                p.issuerUrl,
                new aws.iam.OpenIdConnectProvider(
                    `${name}-oidc-${p.issuerUrl.replace(/^https:\/\//, "")}`,
                    {
                        url: p.issuerUrl,
                        clientIdLists: [STS_AUDIENCE],
                        // Left out when empty: IAM then verifies the issuer's chain itself (docs/aws-facts.md).
                        thumbprintLists: p.thumbprints.length > 0 ? [...p.thumbprints] : undefined,
                        tags: args.tags,
                    },
                    // What the stack did not create it never deletes.
                    { parent: this, retainOnDelete: adopted.issuerUrls.has(p.issuerUrl) },
                ),
            ]),
        );

        const roles = plan.roles.map(
            (r) =>
                new PullRole(
                    // `<name>-<grant>`, and `<name>-<grant>.<shard>` for a sharded grant's further roles.
                    `${name}-${r.roleName.slice(PULL_ROLE_NAME_PREFIX.length)}`,
                    {
                        roleName: r.roleName,
                        trustPolicy: r.trustPolicy,
                        rolePolicy: r.rolePolicy,
                        description: `Pulls the ECR repositories of grant "${r.grant}" for EKS service accounts in other accounts.`,
                        tags: args.tags,
                        retainOnDelete: adopted.roleNames.has(r.roleName),
                    },
                    // The trust names providers by ARN: IAM wants them to exist first.
                    { parent: this, dependsOn: r.issuerUrls.map((url) => providers.get(url)!) },
                ),
        );

        const repositories = plan.repositories.map(
            (r) =>
                new PullRepository(
                    `${name}-${r.settings.name}`,
                    {
                        // A PullRepository is one repository in one region: the replicas' keys are the replicas' own.
                        repository: {
                            ...r.settings,
                            replicaKmsKeyArns: undefined,
                            ...(adopted.repositories.has(r.settings.name) ? { retainOnDelete: true } : {}),
                        },
                        repositoryPolicy: r.repositoryPolicy,
                        tags: args.tags,
                    },
                    { parent: this },
                ),
        );

        // Replicas are created by the stack, not by ECR on first replication: their policies must
        // follow the grants, and a creation template applies only when ECR creates a repository
        // (ECR user guide, "Repository creation templates").
        const replicas = plan.repositories.flatMap((r) =>
            r.replicas.map((replica) => ({
                region: replica.region,
                name: r.settings.name,
                component: new PullRepository(
                    `${name}-${r.settings.name}@${replica.region}`,
                    {
                        repository: {
                            ...r.settings,
                            kmsKeyArn: replica.kmsKeyArn,
                            replicaKmsKeyArns: undefined,
                            retainOnDelete: r.settings.retainOnDelete || adopted.repositories.has(repositoryAdoptionKey(r.settings.name, replica.region)),
                        },
                        repositoryPolicy: replica.repositoryPolicy,
                        tags: args.tags,
                        region: replica.region,
                    },
                    { parent: this },
                ),
            })),
        );
        if (plan.replication.regions.length > 0) {
            const owner = registryOwner();
            // What replication creates that no repository of the config names (a prefix filter
            // matches longer names too) gets safe settings and no cross-account access.
            for (const region of plan.replication.regions) {
                new aws.ecr.RepositoryCreationTemplate(
                    `${name}-template@${region}`,
                    {
                        prefix: "ROOT",
                        appliedFors: ["REPLICATION"],
                        description: `${owner}: repositories replication creates that ecrpull does not manage`,
                        imageTagMutability: "IMMUTABLE",
                        encryptionConfigurations: [{ encryptionType: "AES256" }],
                        lifecyclePolicy: lifecyclePolicy(REPOSITORY_DEFAULTS),
                        region,
                    },
                    { parent: this },
                );
            }
            new aws.ecr.ReplicationConfiguration(
                `${name}-replication`,
                {
                    replicationConfiguration: {
                        rules: plan.replication.rules.map((names) => ({
                            destinations: plan.replication.regions.map((region) => ({ region, registryId: args.registryAccountId })),
                            repositoryFilters: names.map((filter) => ({ filter, filterType: "PREFIX_MATCH" })),
                        })),
                    },
                },
                // Replicas first: an image pushed before its replica exists would make ECR create it.
                { parent: this, dependsOn: replicas.map((r) => r.component) },
            );
        }

        this.oidcProviderArns = recordOf([...providers.entries()].map(([url, p]) => [url, p.arn]));
        // Keyed like the role names: `grant` for a grant's first role, `grant.<shard>` for the others.
        this.pullRoleArns = recordOf(roles.map((role, i) => [plan.roles[i].roleName.slice(PULL_ROLE_NAME_PREFIX.length), role.arn]));
        this.repositoryUrls = recordOf(repositories.map((repo, i) => [plan.repositories[i].settings.name, repo.url]));
        this.replicaRepositoryUrls = pulumi
            .all(plan.replication.regions.map((region) => recordOf(replicas.filter((r) => r.region === region).map((r) => [r.name, r.component.url]))))
            .apply((byRegion) => Object.fromEntries(plan.replication.regions.map((region, i) => [region, byRegion[i]])));
        this.registerOutputs({
            oidcProviderArns: this.oidcProviderArns,
            pullRoleArns: this.pullRoleArns,
            repositoryUrls: this.repositoryUrls,
            replicaRepositoryUrls: this.replicaRepositoryUrls,
        });
    }
}

/** How the stack's replication templates say whose they are: `ecrpull <org>/<project>/<stack>`. */
export function registryOwner(): string {
    return `ecrpull ${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** One `pulumi.all` over the record: an Output per entry would cost a chain of promises for each of hundreds of repositories. */
function recordOf(entries: [string, pulumi.Output<string>][]): pulumi.Output<Record<string, string>> {
    return pulumi.all(Object.fromEntries(entries));
}
