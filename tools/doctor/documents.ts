/**
 * What the doctor reads from the stack exports: the IAM roles with their
 * trust policies, the OIDC providers, and the EKS stacks' issuer, thumbprint
 * and `workloads` outputs (`contract.ts`). Values are read as the program set
 * them (inputs) where AWS's echo may differ, and as AWS returned them
 * (outputs) where only AWS knows them (ARNs).
 *
 * Also the small lookups over those documents that the checks share: a role
 * by ARN or name, the roles trusting an issuer, the grant a role serves.
 */
import { roleNameOf } from "../report/evaluator";
import { WorkloadExport } from "../../components/contract/stack-outputs";
import { DoctorInput } from "./types";
import { issuerHostPath, oidcProviderArn, partitionOfRegion, PULL_ROLE_NAME_PREFIX } from "../../components/iam/names";
import { ExportedResource, resourcesOfType, StackExport } from "../state/stack-export";

export interface KnownRole {
    readonly arn: string;
    readonly name: string;
    /** The parsed trust policy, or why it could not be read. */
    readonly trust?: PolicyLike;
    readonly trustProblem?: string;
    readonly source: string;
}

export interface KnownProvider {
    readonly arn: string;
    readonly url: string;
    /** Undefined when the state does not hold the provider's settings (one created by eks.Cluster, or adopted). */
    readonly clientIds?: readonly string[];
    readonly thumbprints?: readonly string[];
    readonly source: string;
}

/** One ServiceAccount of an EKS stack's `workloads` output. */
export type Workload = WorkloadExport;

export interface ClusterState {
    readonly state: StackExport;
    readonly issuerUrl?: string;
    readonly thumbprint?: string;
    readonly clusterName?: string;
    readonly workloads: readonly Workload[];
}

export interface Documents {
    readonly registryAccountId: string;
    readonly roles: readonly KnownRole[];
    readonly providers: readonly KnownProvider[];
    readonly clusters: readonly ClusterState[];
}

export interface PolicyLike {
    readonly Statement: readonly StatementLike[];
}

export interface StatementLike {
    readonly Sid?: string;
    readonly Effect?: string;
    readonly Principal?: unknown;
    readonly Action?: unknown;
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

// ---- Reading the states -------------------------------------------------------

const ROLE_TYPE = "aws:iam/role:Role";
const PROVIDER_TYPE = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const EKS_CLUSTER_TYPE = "eks:index:Cluster";

export const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
export const strings = (value: unknown): string[] | undefined =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" ? [value] : undefined;
/** A resource's value: outputs (what AWS returned) first, then inputs. */
const valueOf = (r: ExportedResource, key: string): unknown => r.outputs[key] ?? r.inputs[key];

function readRoles(state: StackExport, accountId: string | undefined, region: string | undefined): KnownRole[] {
    return resourcesOfType(state, ROLE_TYPE).flatMap((r) => {
        const name = str(valueOf(r, "name"));
        const arn = str(r.outputs.arn) ?? (name && accountId ? `arn:${partitionOfRegion(region ?? "")}:iam::${accountId}:role/${name}` : undefined);
        if (!arn) {
            return [];
        }
        // The trust as the program set it; AWS's echo of it may be reordered or URL-encoded.
        const text = r.inputs.assumeRolePolicy ?? r.outputs.assumeRolePolicy;
        let trust: PolicyLike | undefined;
        let trustProblem: string | undefined;
        try {
            const parsed = typeof text === "string" ? JSON.parse(text) : text;
            const statements = (parsed as { Statement?: unknown })?.Statement;
            if (Array.isArray(statements)) {
                trust = { Statement: statements as StatementLike[] };
            } else if (statements && typeof statements === "object") {
                trust = { Statement: [statements as StatementLike] };
            } else {
                trustProblem = "its assumeRolePolicy has no Statement";
            }
        } catch {
            trustProblem = "its assumeRolePolicy is not JSON";
        }
        return [{ arn, name: name ?? roleNameOf(arn), trust, trustProblem, source: state.source }];
    });
}

function readProviders(state: StackExport, accountId: string | undefined, region: string | undefined): KnownProvider[] {
    const partition = partitionOfRegion(region ?? "");
    const providers: KnownProvider[] = resourcesOfType(state, PROVIDER_TYPE).flatMap((r) => {
        const url = str(valueOf(r, "url"));
        if (!url) {
            return [];
        }
        const arn = str(r.outputs.arn) ?? (accountId ? oidcProviderArn(partition, accountId, url) : undefined);
        return arn
            ? [
                  {
                      arn,
                      url,
                      clientIds: strings(valueOf(r, "clientIdLists")) ?? [],
                      thumbprints: strings(valueOf(r, "thumbprintLists")) ?? [],
                      source: state.source,
                  },
              ]
            : [];
    });
    // eks.Cluster (createOidcProvider) creates its provider inside the remote component: only its ARN reaches the state.
    for (const r of resourcesOfType(state, EKS_CLUSTER_TYPE)) {
        const arn = str(r.outputs.oidcProviderArn);
        const url = str(r.outputs.oidcProviderUrl) ?? (str(r.outputs.oidcIssuer) ? `https://${r.outputs.oidcIssuer}` : undefined);
        if (arn && url) {
            providers.push({ arn, url, source: `${state.source} (created by eks.Cluster)` });
        }
    }
    return providers;
}

function readWorkloads(value: unknown): Workload[] {
    if (!Array.isArray(value)) {
        return [];
    }
    return value.filter(
        (w): w is Workload =>
            typeof w === "object" &&
            w !== null &&
            ["namespace", "serviceAccount", "grant", "path", "roleArn", "clusterRoleArn"].every((k) => typeof (w as Record<string, unknown>)[k] === "string"),
    );
}

export function readDocuments(input: DoctorInput): Documents {
    const registryAccountId = str(input.ecr.outputs.registryAccountId) ?? "";
    const registryRegion = str(input.ecr.outputs.region);
    const clusters = (input.eks ?? []).map((state) => ({
        state,
        issuerUrl: str(state.outputs.oidcIssuerUrl),
        thumbprint: str(state.outputs.oidcThumbprint),
        clusterName: str(state.outputs.clusterName),
        workloads: readWorkloads(state.outputs.workloads),
    }));
    return {
        registryAccountId,
        roles: [
            ...readRoles(input.ecr, registryAccountId, registryRegion),
            ...(input.eks ?? []).flatMap((s) => readRoles(s, str(s.outputs.accountId), str(s.outputs.region))),
        ],
        providers: [
            ...readProviders(input.ecr, registryAccountId, registryRegion),
            ...(input.eks ?? []).flatMap((s) => readProviders(s, str(s.outputs.accountId), str(s.outputs.region))),
        ],
        clusters,
    };
}

// ---- Lookups the checks share -----------------------------------------------------

/** A role to check, why, and the workload and cluster it was found through (when it was). */
export interface RoleChoice {
    readonly roleArn: string;
    readonly reason: string;
    readonly workload?: Workload;
    readonly cluster?: ClusterState;
}

/** The provider host/path of an OIDC provider ARN (`arn:aws:iam::1:oidc-provider/<host/path>`). */
export const providerHostPath = (arn: string): string | undefined => /:oidc-provider\/(.+)$/.exec(arn)?.[1];

/** Two issuer URLs IAM keys as the same provider (equal but for `https://`). */
export const samePlace = (a: string, b: string): boolean => issuerHostPath(a) === issuerHostPath(b);

export function findRole(docs: Documents, wanted: string): KnownRole | undefined {
    return docs.roles.find((r) => r.arn === wanted || r.name === wanted);
}

/** Roles whose trust names a provider for the issuer (`iss` as IAM keys it). */
export function rolesTrusting(docs: Documents, iss: string): KnownRole[] {
    return docs.roles.filter((r) =>
        (r.trust?.Statement ?? []).some((s) => federatedPrincipals(s).some((arn) => providerHostPath(arn) === issuerHostPath(iss))),
    );
}

export function federatedPrincipals(statement: StatementLike): string[] {
    const principal = statement.Principal as { Federated?: unknown } | undefined;
    return strings(principal?.Federated) ?? [];
}

/** Which grant a role of this package serves, from its name (`names.ts`). */
export function grantOfRole(name: string): string | undefined {
    if (name.startsWith(PULL_ROLE_NAME_PREFIX)) {
        return name.slice(PULL_ROLE_NAME_PREFIX.length).replace(/\.\d+$/, "");
    }
    return /^ecr-(?:chain|podid)-(.+)-[0-9a-f]{6}$/.exec(name)?.[1];
}
