/**
 * A component of the consumer's own: every team's images in the registry
 * account, each team pulling its own repositories from its own namespace.
 *
 * It wraps one ecrpull RegistryAccess for all teams, not one per team:
 * RegistryAccess creates the account's IAM OIDC provider for each cluster
 * issuer, and IAM allows one provider per issuer URL in an account.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec, GrantSpec, names, RegistryAccess, RepositorySpec } from "ecrpull";

export interface Team {
    /** The team's name: its namespace, its repositories' prefix and its grant. */
    readonly name: string;
    /** The team's repositories, without the `<team>/` prefix. */
    readonly images: string[];
    /** Service accounts of the team's namespace that pull. */
    readonly serviceAccounts: string[];
}

export interface TeamsRegistryArgs {
    /** The registry account (where this program runs). */
    readonly registryAccountId: string;
    readonly region: string;
    /** Clusters the teams run on, as their EKS stacks export them. */
    readonly clusters: ClusterSpec[];
    readonly teams: Team[];
}

export class TeamsRegistry extends pulumi.ComponentResource {
    public readonly repositoryUrls: pulumi.Output<Record<string, string>>;
    /** Each team's pull role, known before anything is deployed (ecrpull's naming contract). */
    public readonly pullRoleArns: Record<string, string>;

    constructor(name: string, args: TeamsRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("teamregistry:index:TeamsRegistry", name, {}, opts);
        const repositories: RepositorySpec[] = args.teams.flatMap((team) => team.images.map((image) => ({ name: `${team.name}/${image}` })));
        const grants: GrantSpec[] = args.teams.map((team) => ({
            name: team.name,
            clusters: args.clusters.map((c) => c.name),
            serviceAccounts: team.serviceAccounts.map((sa) => ({ namespace: team.name, name: sa })),
            repositories: team.images.map((image) => `${team.name}/${image}`),
        }));
        const access = new RegistryAccess(
            `${name}-access`,
            { registryAccountId: args.registryAccountId, region: args.region, clusters: args.clusters, repositories, grants, tags: { owner: name } },
            { parent: this },
        );
        this.repositoryUrls = access.repositoryUrls;
        this.pullRoleArns = Object.fromEntries(
            args.teams.map((team) => [team.name, names.pullRoleArn({ partition: "aws", registryAccountId: args.registryAccountId, grant: team.name })]),
        );
        this.registerOutputs({ repositoryUrls: this.repositoryUrls });
    }
}
