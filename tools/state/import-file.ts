/**
 * The file `pulumi import --file` reads to take existing resources into a
 * stack: for each adopted resource its type, its logical name, its parent
 * and its provider ID, with its component ancestors as empty components
 * (`"component": true`, Pulumi CLI 3.94 and later). The names, types and
 * parents are those the program registers, so after the import the next
 * `pulumi up` finds them in the state under the URNs it registers: no
 * create, no replace, no delete for them (tests/adopt.test.ts checks this
 * against the URNs a run registers).
 *
 * Import IDs per type (Pulumi registry, "Import" of each resource):
 * a repository by name (`<name>@<region>` for a replica), an OIDC provider
 * by ARN, a role by name.
 */
import { repositoryAdoptionKey, resolveAdopted } from "../../components/registry/adopt";
import { PULL_ROLE_NAME_PREFIX } from "../../components/iam/names";
import { Problems } from "../../components/validation";
import { RecordedResource } from "../engine/mock-engine";

export interface ImportEntry {
    readonly type: string;
    /** Unique in the file: what `parent` refers to (and the variable name, were code generated). */
    readonly name: string;
    /** The resource's name in the program: the last part of its URN. */
    readonly logicalName: string;
    /** The provider's ID; absent for an empty component. */
    readonly id?: string;
    /** `name` of the parent's entry; absent for a child of the stack. */
    readonly parent?: string;
    readonly component?: true;
}

export interface ImportFile {
    readonly resources: readonly ImportEntry[];
}

/**
 * The import ID of a resource the provider would read, by type; a resource
 * in another region than the provider's takes `@<region>` (AWS provider 6
 * and @pulumi/aws 7, "Enhanced Region Support").
 */
const IMPORT_ID: Readonly<Record<string, (r: RecordedResource) => string>> = {
    "aws:ecr/repository:Repository": (r) => (r.inputs.region ? `${r.inputs.name}@${r.inputs.region}` : r.inputs.name),
    "aws:iam/role:Role": (r) => r.inputs.name,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (r) => r.state.arn,
};

/** An identifier from a logical name: `registry-payments/api-repository` → `registry_payments_api_repository`. */
const identifier = (logicalName: string) => logicalName.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^(\d)/, "_$1");

/**
 * The import file for `adopted` (resources of `all`, the run that registered
 * them), with every component above them once, parents before children.
 */
export function importFileFor(all: readonly RecordedResource[], adopted: readonly RecordedResource[]): ImportFile {
    const byUrn = new Map(all.map((r) => [r.urn, r]));
    const entries = new Map<string, ImportEntry>();
    const used = new Set<string>();
    const uniqueName = (logicalName: string) => {
        let name = identifier(logicalName);
        for (let n = 2; used.has(name); n++) {
            name = `${identifier(logicalName)}_${n}`;
        }
        used.add(name);
        return name;
    };
    const add = (resource: RecordedResource): string => {
        const existing = entries.get(resource.urn);
        if (existing) {
            return existing.name;
        }
        const parent = resource.parent ? byUrn.get(resource.parent) : undefined;
        // Parents first, so that the file reads top-down.
        const parentName = parent && parent.type !== "pulumi:pulumi:Stack" ? add(parent) : undefined;
        const idOf = IMPORT_ID[resource.type];
        if (resource.custom && !idOf) {
            throw new Error(`${resource.type} ${resource.name}: no import ID is known for this type.`);
        }
        const entry: ImportEntry = {
            type: resource.type,
            name: uniqueName(resource.name),
            logicalName: resource.name,
            ...(resource.custom ? { id: idOf(resource) } : { component: true as const }),
            ...(parentName ? { parent: parentName } : {}),
        };
        entries.set(resource.urn, entry);
        return entry.name;
    };
    for (const resource of adopted) {
        add(resource);
    }
    return { resources: [...entries.values()] };
}

const ofType = (resources: readonly RecordedResource[], type: string) => resources.filter((r) => r.type === type);

/**
 * The resources of an ECR program's run that its `adopt` config takes over,
 * matched as the program matches them (`resolveAdopted`): repositories by
 * name, pull roles by grant, OIDC providers by ARN, issuer URL or cluster
 * (`issuerOfCluster`: the issuer each cluster stack exported).
 */
export function adoptedResources(
    resources: readonly RecordedResource[],
    adopt: unknown,
    registryAccountId: string,
    issuerOfCluster: Readonly<Record<string, string>>,
): RecordedResource[] {
    const repositories = ofType(resources, "aws:ecr/repository:Repository");
    const roles = ofType(resources, "aws:iam/role:Role").filter((r) => String(r.inputs.name).startsWith(PULL_ROLE_NAME_PREFIX));
    const providers = ofType(resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    const problems = new Problems((path) => `[ecrpull:${path}]`);
    const adopted = resolveAdopted(
        adopt,
        {
            issuerUrls: providers.map((p) => p.inputs.url),
            issuerOfCluster,
            repositoryNames: repositories.map((r) => repositoryAdoptionKey(r.inputs.name, r.inputs.region)),
            roleKeys: roles.map((r) => String(r.inputs.name).slice(PULL_ROLE_NAME_PREFIX.length)),
        },
        registryAccountId,
        problems,
    );
    problems.throwIfAny("ecrpull:adopt");
    return [
        ...providers.filter((p) => adopted.issuerUrls.has(p.inputs.url)),
        ...roles.filter((r) => adopted.roleNames.has(r.inputs.name)),
        ...repositories.filter((r) => adopted.repositories.has(repositoryAdoptionKey(r.inputs.name, r.inputs.region))),
    ];
}
