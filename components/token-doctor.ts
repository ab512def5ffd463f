/**
 * The doctor: given a service-account token and the deployed state of the
 * stacks, explains whether STS would let the token assume its role with
 * `sts:AssumeRoleWithWebIdentity`, and if not, why and what to change.
 *
 * Everything it judges comes from the documents this package deployed (the
 * `pulumi stack export --show-secrets` files: trust policies, OIDC providers,
 * stack outputs) and from what the issuer publishes (discovery document, key
 * set, TLS chain). STS checks, in the order a diagnosis follows:
 *  - the token is a JWT signed with an asymmetric algorithm (EKS: RS256);
 *  - its `iss` names an IAM OIDC provider of the role's account (IAM keys
 *    providers by the URL without `https://`);
 *  - one of its audiences is in that provider's client IDs;
 *  - it has not expired (and is already valid);
 *  - its signature verifies with a key the issuer publishes;
 *  - the issuer's TLS chain matches a listed thumbprint, unless the chain
 *    ends at a CA AWS trusts, as EKS issuers' does (facts.md, Thumbprints);
 *  - the role's trust allows the provider, and its `<issuer>:aud` and
 *    `<issuer>:sub` conditions hold for the token's claims.
 *
 * `diagnoseToken` is pure: the issuer's answers come in as `IssuerEvidence`.
 * `examineToken` fetches that evidence first.
 *
 * The IAM string matching below is local to this module: the package has no
 * shared condition evaluator yet (`contract.ts` keeps a private StringLike
 * for its own check).
 */
import { decodeJwt, DecodedJwt, JwtError, verifyRs256 } from "./jwt";
import { accountIdOfArn, issuerHostPath, oidcProviderArn, partitionOfRegion, PULL_ROLE_NAME_PREFIX, serviceAccountSubject, STS_AUDIENCE } from "./names";
import { FetchError, FetchOptions, fetchIssuerKeys, IssuerKeys } from "./oidc-discovery";
import { ExportedResource, resourcesOfType, StackExport } from "./stack-export";
import { fetchOidcThumbprint, ThumbprintError } from "./thumbprint";

// ---- Report ---------------------------------------------------------------

/** `warn`: something is off, but STS would not refuse the token for it. */
export type CheckVerdict = "pass" | "fail" | "warn" | "skip";

/** The checks, in the order they are printed. */
export type CheckName = "token" | "expiry" | "signature" | "roles" | "path" | "issuer" | "audience" | "thumbprint" | "trust" | "subject" | "chain";

export interface DoctorCheck {
    readonly check: CheckName;
    readonly verdict: CheckVerdict;
    /** What was compared with what: claims, document values, fetched values. */
    readonly evidence: string;
    /** On `fail` and `warn`: what to change. */
    readonly fix?: string;
    /** The error STS answers when this check fails, so a user can match the message they got. */
    readonly sts?: string;
}

/** The claims the diagnosis looks at, as found in the token. */
export interface TokenClaims {
    readonly alg?: string;
    readonly kid?: string;
    readonly iss?: string;
    readonly sub?: string;
    readonly aud: readonly string[];
    readonly exp?: number;
    readonly nbf?: number;
    readonly iat?: number;
}

export interface RoleDiagnosis {
    readonly roleArn: string;
    /** Why this role was checked: `--role`, the EKS stack's workloads output, or its trust naming the issuer. */
    readonly reason: string;
    /** The workload's access path when the EKS outputs name it. */
    readonly path?: string;
    readonly grant?: string;
    readonly checks: readonly DoctorCheck[];
    /** True when every check of the role and of the token passes (or only warns). */
    readonly admitted: boolean;
}

export interface DoctorReport {
    readonly claims: TokenClaims;
    /** Checks of the token itself: format, expiry, signature; and `roles` when no role could be found. */
    readonly checks: readonly DoctorCheck[];
    readonly roles: readonly RoleDiagnosis[];
    /** True when STS would let the token assume the role (or, with no role named, at least one of the roles checked). */
    readonly admitted: boolean;
    /** One sentence: the verdict and its first reason. */
    readonly summary: string;
}

// ---- Inputs ---------------------------------------------------------------

export interface DoctorInput {
    /** The token text (a file's content: surrounding white space is ignored). */
    readonly token: string;
    /** The ECR (registry) stack's export. */
    readonly ecr: StackExport;
    /** EKS stacks' exports: which role each service account uses, and chaining's cluster-account roles. */
    readonly eks?: readonly StackExport[];
    /** Check this role (ARN or name) instead of the one the EKS outputs name for the token's subject. */
    readonly role?: string;
    readonly now: Date;
    /** Tolerance for clocks that disagree, in seconds. Default 60. */
    readonly clockSkewSeconds?: number;
}

/** What the issuer answered; a field left undefined was not asked (offline), and is reported as skipped. */
export interface IssuerEvidence {
    readonly keys?: { readonly ok: true; readonly value: IssuerKeys } | { readonly ok: false; readonly error: string };
    readonly thumbprint?: { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string };
}

// ---- Documents read from the states -----------------------------------------

interface KnownRole {
    readonly arn: string;
    readonly name: string;
    /** The parsed trust policy, or why it could not be read. */
    readonly trust?: PolicyLike;
    readonly trustProblem?: string;
    readonly source: string;
}

interface KnownProvider {
    readonly arn: string;
    readonly url: string;
    /** Undefined when the state does not hold the provider's settings (one created by eks.Cluster, or adopted). */
    readonly clientIds?: readonly string[];
    readonly thumbprints?: readonly string[];
    readonly source: string;
}

interface Workload {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly grant: string;
    readonly path: string;
    readonly roleArn: string;
    readonly clusterRoleArn: string;
}

interface ClusterState {
    readonly state: StackExport;
    readonly issuerUrl?: string;
    readonly thumbprint?: string;
    readonly clusterName?: string;
    readonly workloads: readonly Workload[];
}

interface Documents {
    readonly registryAccountId: string;
    readonly roles: readonly KnownRole[];
    readonly providers: readonly KnownProvider[];
    readonly clusters: readonly ClusterState[];
}

interface PolicyLike {
    readonly Statement: readonly StatementLike[];
}

interface StatementLike {
    readonly Sid?: string;
    readonly Effect?: string;
    readonly Principal?: unknown;
    readonly Action?: unknown;
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

const ROLE_TYPE = "aws:iam/role:Role";
const PROVIDER_TYPE = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const EKS_CLUSTER_TYPE = "eks:index:Cluster";

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const strings = (value: unknown): string[] | undefined =>
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
        return [{ arn, name: name ?? arn.split("/").pop()!, trust, trustProblem, source: state.source }];
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

function readDocuments(input: DoctorInput): Documents {
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

// ---- IAM matching -------------------------------------------------------------

/** IAM's StringLike: `*` any run of characters, `?` any one; case-sensitive. */
function like(pattern: string, value: string): boolean {
    const expression = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${expression}$`, "s").test(value);
}

const actionMatches = (actions: unknown, wanted: string): boolean => (strings(actions) ?? []).some((a) => like(a.toLowerCase(), wanted.toLowerCase()));

/** The provider host/path of an OIDC provider ARN (`arn:aws:iam::1:oidc-provider/<host/path>`). */
const providerHostPath = (arn: string): string | undefined => /:oidc-provider\/(.+)$/.exec(arn)?.[1];

type ConditionResult = {
    readonly operator: string;
    readonly key: string;
    readonly expected: readonly string[];
    readonly actual: readonly string[];
    readonly ok: boolean | undefined;
};

/**
 * One condition against the request's values (undefined: the key is absent).
 * `ok` is undefined for operators the doctor does not evaluate.
 */
function evaluateCondition(operator: string, key: string, expectedRaw: unknown, actual: readonly string[] | undefined): ConditionResult {
    const expected = strings(expectedRaw) ?? [];
    const ifExists = operator.endsWith("IfExists");
    const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
    const values = actual ?? [];
    const result = (ok: boolean | undefined): ConditionResult => ({ operator, key, expected, actual: values, ok });
    if (actual === undefined && ifExists) {
        return result(true);
    }
    const anyOf = (test: (e: string, v: string) => boolean) => values.some((v) => expected.some((e) => test(e, v)));
    switch (base) {
        case "StringEquals":
            return result(anyOf((e, v) => e === v));
        case "StringEqualsIgnoreCase":
            return result(anyOf((e, v) => e.toLowerCase() === v.toLowerCase()));
        case "StringLike":
            return result(anyOf(like));
        case "StringNotEquals":
            return result(!anyOf((e, v) => e === v));
        case "StringNotLike":
            return result(!anyOf(like));
        default:
            return result(undefined);
    }
}

// ---- Token checks -----------------------------------------------------------------

const time = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

function ago(seconds: number): string {
    const s = Math.abs(Math.round(seconds));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} days`;
}

const FRESH_TOKEN =
    "copy a fresh token from the pod (kubectl exec <pod> -- cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token); " +
    "the kubelet renews a running pod's projected token, so if the pod's own token is expired, check that node's clock and kubelet";

function claimsOf(jwt: DecodedJwt): TokenClaims {
    const number = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
    return {
        alg: str(jwt.header.alg),
        kid: str(jwt.header.kid),
        iss: str(jwt.payload.iss),
        sub: str(jwt.payload.sub),
        aud: strings(jwt.payload.aud) ?? [],
        exp: number(jwt.payload.exp),
        nbf: number(jwt.payload.nbf),
        iat: number(jwt.payload.iat),
    };
}

function formatCheck(claims: TokenClaims): DoctorCheck {
    const alg = claims.alg ?? "(none given)";
    if (claims.alg === undefined || claims.alg.toLowerCase() === "none") {
        return {
            check: "token",
            verdict: "fail",
            evidence: `the token is not signed (alg ${JSON.stringify(claims.alg ?? null)})`,
            fix: "STS accepts only tokens signed by the issuer's private key (EKS signs with RS256): use the token the pod's projected volume holds, not a hand-made one.",
            sts: "InvalidIdentityToken",
        };
    }
    if (claims.alg !== "RS256") {
        const symmetric = /^HS/i.test(claims.alg);
        return {
            check: "token",
            verdict: "fail",
            evidence: `the token is signed with ${alg}${symmetric ? ", a shared-secret algorithm STS never accepts" : ""}; EKS issuers sign with RS256`,
            fix: "Use the token the pod's projected volume holds (EKS signs service-account tokens with RS256); a token signed another way was not issued by the cluster.",
            sts: "InvalidIdentityToken",
        };
    }
    const missing = (["iss", "sub", "exp"] as const).filter((k) => claims[k] === undefined);
    if (claims.aud.length === 0) missing.push("aud" as never);
    if (missing.length > 0) {
        return {
            check: "token",
            verdict: "fail",
            evidence: `a JWT signed with RS256, but without the claim${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`,
            fix: "Use a service-account token projected by Kubernetes: it always carries iss, sub, aud and exp.",
            sts: "InvalidIdentityToken",
        };
    }
    if (claims.kid === undefined) {
        return {
            check: "token",
            verdict: "warn",
            evidence: "a JWT signed with RS256, but its header names no key (kid); every published key will be tried",
            fix: "Kubernetes API servers put a kid in every token they sign: a token without one was probably not issued by the cluster.",
        };
    }
    return { check: "token", verdict: "pass", evidence: `a JWT signed with RS256, key id ${JSON.stringify(claims.kid)}` };
}

function expiryCheck(claims: TokenClaims, now: Date, skew: number): DoctorCheck {
    const t = now.getTime() / 1000;
    if (claims.exp === undefined) {
        return { check: "expiry", verdict: "skip", evidence: "the token has no exp claim (see token)" };
    }
    if (t > claims.exp + skew) {
        return {
            check: "expiry",
            verdict: "fail",
            evidence: `expired at ${time(claims.exp)}, ${ago(t - claims.exp)} before ${now.toISOString()}`,
            fix: `The token is stale: ${FRESH_TOKEN}.`,
            sts: "ExpiredTokenException: Token expired",
        };
    }
    if (claims.nbf !== undefined && claims.nbf > t + skew) {
        return {
            check: "expiry",
            verdict: "fail",
            evidence: `not valid before ${time(claims.nbf)}, ${ago(claims.nbf - t)} after ${now.toISOString()}`,
            fix: "The clocks of the issuer and of this machine disagree: fix the clock that is wrong (NTP), then try again.",
            sts: "InvalidIdentityToken",
        };
    }
    if (claims.iat !== undefined && claims.iat > t + skew) {
        return {
            check: "expiry",
            verdict: "fail",
            evidence: `issued at ${time(claims.iat)}, ${ago(claims.iat - t)} after ${now.toISOString()}`,
            fix: "The clocks of the issuer and of this machine disagree: fix the clock that is wrong (NTP), then try again.",
            sts: "InvalidIdentityToken",
        };
    }
    return { check: "expiry", verdict: "pass", evidence: `valid until ${time(claims.exp)} (${ago(claims.exp - t)} from ${now.toISOString()})` };
}

function signatureCheck(jwt: DecodedJwt, claims: TokenClaims, evidence: IssuerEvidence): DoctorCheck {
    if (evidence.keys === undefined) {
        return { check: "signature", verdict: "skip", evidence: "not fetched (offline): the issuer's keys were not asked for" };
    }
    if (!evidence.keys.ok) {
        return {
            check: "signature",
            verdict: "fail",
            evidence: `could not fetch the issuer's keys: ${evidence.keys.error}`,
            fix: "STS fetches the same documents: make sure the issuer serves them over https from a public address; if only this machine cannot reach it, check its network and proxy, or give the issuer's CA with --ca.",
            sts: "InvalidIdentityToken: Couldn't retrieve verification key from your identity provider",
        };
    }
    const { value } = evidence.keys;
    if (value.issuer !== claims.iss) {
        return {
            check: "signature",
            verdict: "fail",
            evidence: `the discovery document ${value.discoveryUrl} names the issuer ${JSON.stringify(value.issuer)}, but the token's iss is ${JSON.stringify(claims.iss)}`,
            fix: "The issuer must be served under exactly the URL it puts in its tokens (the API server's --service-account-issuer): make the two equal, including any trailing slash.",
            sts: "InvalidIdentityToken",
        };
    }
    const kids = value.keys.map((k) => JSON.stringify(k.kid ?? "(no kid)")).join(", ") || "none";
    const candidates = claims.kid === undefined ? value.keys : value.keys.filter((k) => k.kid === claims.kid);
    if (candidates.length === 0) {
        return {
            check: "signature",
            verdict: "fail",
            evidence: `the issuer publishes no key with kid ${JSON.stringify(claims.kid)} at ${value.jwksUri} (it publishes ${kids})`,
            fix: `The token was signed by a key the issuer does not publish: if the token is old, the cluster's signing key has rotated since, so ${FRESH_TOKEN}; if a fresh token fails too, it was not issued by ${claims.iss}.`,
            sts: "InvalidIdentityToken",
        };
    }
    const problems: string[] = [];
    for (const key of candidates) {
        try {
            if (verifyRs256(jwt, key)) {
                return {
                    check: "signature",
                    verdict: "pass",
                    evidence: `RS256 signature verifies with key ${JSON.stringify(key.kid ?? "(no kid)")} from ${value.jwksUri}`,
                };
            }
        } catch (error) {
            problems.push((error as Error).message);
        }
    }
    if (problems.length === candidates.length) {
        return {
            check: "signature",
            verdict: "fail",
            evidence: `the published key cannot check the signature: ${problems.join("; ")}`,
            fix: "The issuer's key set is broken: publish the RSA public key of the service-account signing key (kty RSA, n, e) under the kid the tokens carry.",
            sts: "InvalidIdentityToken",
        };
    }
    return {
        check: "signature",
        verdict: "fail",
        evidence: `the signature does not verify with the published key ${claims.kid === undefined ? `(tried ${kids})` : JSON.stringify(claims.kid)} from ${value.jwksUri}`,
        fix: `The token was altered or signed by another key than the one ${claims.iss} publishes under that kid: it was not issued by this cluster. Use the token from the pod's projected volume.`,
        sts: "InvalidIdentityToken",
    };
}

// ---- Which roles ---------------------------------------------------------------

interface RoleChoice {
    readonly roleArn: string;
    readonly reason: string;
    readonly workload?: Workload;
    readonly cluster?: ClusterState;
}

const samePlace = (a: string, b: string): boolean => issuerHostPath(a) === issuerHostPath(b);

function findRole(docs: Documents, wanted: string): KnownRole | undefined {
    return docs.roles.find((r) => r.arn === wanted || r.name === wanted);
}

/** Roles whose trust names a provider for the issuer (`iss` as IAM keys it). */
function rolesTrusting(docs: Documents, iss: string): KnownRole[] {
    return docs.roles.filter((r) =>
        (r.trust?.Statement ?? []).some((s) => federatedPrincipals(s).some((arn) => providerHostPath(arn) === issuerHostPath(iss))),
    );
}

function federatedPrincipals(statement: StatementLike): string[] {
    const principal = statement.Principal as { Federated?: unknown } | undefined;
    return strings(principal?.Federated) ?? [];
}

/** Which grant a role of this package serves, from its name (`names.ts`). */
function grantOfRole(name: string): string | undefined {
    if (name.startsWith(PULL_ROLE_NAME_PREFIX)) {
        return name.slice(PULL_ROLE_NAME_PREFIX.length).replace(/\.\d+$/, "");
    }
    return /^ecr-(?:chain|podid)-(.+)-[0-9a-f]{6}$/.exec(name)?.[1];
}

// ---- Role checks ---------------------------------------------------------------

const sts = {
    noProvider: (iss: string) => `InvalidIdentityToken: No OpenIDConnect provider found in your account for ${iss}`,
    audience: "InvalidIdentityToken: Incorrect token audience",
    denied: "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    thumbprint: "InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
};

/** AWS verifies EKS issuers' certificates itself and ignores their thumbprints (facts.md, Thumbprints). */
const isEksIssuer = (iss: string): boolean => /^https:\/\/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//.test(iss);

function issuerCheck(docs: Documents, claims: TokenClaims, role: KnownRole): { check: DoctorCheck; provider?: KnownProvider } {
    const iss = claims.iss!;
    const account = accountIdOfArn(role.arn) ?? "";
    const inAccount = docs.providers.filter((p) => accountIdOfArn(p.arn) === account);
    const exact = inAccount.find((p) => samePlace(p.url, iss));
    const listed =
        inAccount
            .map((p) => p.url)
            .sort()
            .join(", ") || "none";
    const grant = grantOfRole(role.name);
    if (exact) {
        return { check: { check: "issuer", verdict: "pass", evidence: `iss ${iss} is the OIDC provider ${exact.arn} (${exact.source})` }, provider: exact };
    }
    // The role may name a provider the state does not hold (one that existed before, as adopted clusters' do).
    const named = (role.trust?.Statement ?? [])
        .flatMap(federatedPrincipals)
        .find((arn) => providerHostPath(arn) === issuerHostPath(iss) && accountIdOfArn(arn) === account);
    if (named) {
        return {
            check: {
                check: "issuer",
                verdict: "skip",
                evidence: `the trust names ${named}, but no state given holds that provider (the EKS stack adopted it: clusterOidcProvider "existing", checked when that stack was deployed)`,
            },
            provider: { arn: named, url: iss.replace(/\/$/, ""), source: "named by the trust only" },
        };
    }
    const near = inAccount.find((p) => issuerHostPath(p.url).replace(/\/$/, "").toLowerCase() === issuerHostPath(iss).replace(/\/$/, "").toLowerCase());
    const fix = near
        ? `The token's iss ${JSON.stringify(iss)} and the provider URL ${JSON.stringify(near.url)} differ only in ${iss.endsWith("/") !== near.url.endsWith("/") ? "a trailing slash" : "letter case"}, and IAM compares them exactly: set the cluster's issuer output (oidcIssuerUrl) to exactly the token's iss and run \`pulumi up\` on the EKS stack, then on the ECR stack.`
        : account === docs.registryAccountId
          ? `This token comes from a cluster whose issuer the registry account does not federate: if it is the right cluster, add its EKS stack to ecrpull:clusterStacks and to the clusters of ${grant ? `grant "${grant}"` : "the grant"} (ecrpull:grants), then run \`pulumi up\` on the ECR stack; otherwise use a token of the cluster the role serves.`
          : `This token comes from another cluster than the one role ${role.name} serves: use a token from that cluster's pod.`;
    return {
        check: {
            check: "issuer",
            verdict: "fail",
            evidence: `no OIDC provider for ${iss} in account ${account} (it has ${listed})`,
            fix,
            sts: sts.noProvider(iss),
        },
    };
}

function clientIdCheck(claims: TokenClaims, provider: KnownProvider | undefined): DoctorCheck | undefined {
    if (!provider) {
        return undefined;
    }
    // Unknown client IDs (a provider created by eks.Cluster, or adopted): only the trust's aud condition can be checked.
    if (provider.clientIds === undefined || claims.aud.some((a) => provider.clientIds!.includes(a))) {
        return undefined;
    }
    return {
        check: "audience",
        verdict: "fail",
        evidence: `aud ${claims.aud.map((a) => JSON.stringify(a)).join(", ")} is not among the client IDs of ${provider.arn} (${provider.clientIds.map((a) => JSON.stringify(a)).join(", ") || "none"})`,
        fix: AUDIENCE_FIX,
        sts: sts.audience,
    };
}

const AUDIENCE_FIX =
    `Give the pod a token whose audience is ${STS_AUDIENCE}: the IRSA webhook (amazon-eks-pod-identity-webhook) projects one into pods whose ServiceAccount has the ` +
    `eks.amazonaws.com/role-arn annotation (pods created before the annotation keep their old token: restart them); \`kubectl create token\` needs --audience ${STS_AUDIENCE}.`;

function thumbprintCheck(
    claims: TokenClaims,
    provider: KnownProvider | undefined,
    cluster: ClusterState | undefined,
    evidence: IssuerEvidence,
): DoctorCheck | undefined {
    if (!provider || provider.thumbprints === undefined) {
        return undefined;
    }
    const iss = claims.iss!;
    const listed = provider.thumbprints;
    const ignored = isEksIssuer(iss);
    const exported = cluster?.thumbprint;
    if (evidence.thumbprint === undefined) {
        return { check: "thumbprint", verdict: "skip", evidence: "not fetched (offline): the issuer's TLS chain was not looked at" };
    }
    if (!evidence.thumbprint.ok) {
        return {
            check: "thumbprint",
            verdict: listed.length === 0 || ignored ? "warn" : "fail",
            evidence: `could not read the issuer's TLS chain: ${evidence.thumbprint.error}`,
            fix: "Check that this machine reaches the issuer (or give its CA with --ca); STS must reach it too.",
        };
    }
    const actual = evidence.thumbprint.value;
    const stale = exported !== undefined && exported !== actual ? ` The EKS stack's oidcThumbprint output (${exported}) is stale too.` : "";
    if (listed.length === 0) {
        return {
            check: "thumbprint",
            verdict: "pass",
            evidence: `the provider lists no thumbprint, so IAM verifies the issuer's chain itself (top CA of the chain: ${actual})${stale}`,
        };
    }
    if (listed.includes(actual)) {
        return {
            check: "thumbprint",
            verdict: stale ? "warn" : "pass",
            evidence: `the issuer's top CA certificate has thumbprint ${actual}, which the provider lists.${stale}`,
            ...(stale ? { fix: "Run `pulumi up` on the EKS stack, then on the ECR stack." } : {}),
        };
    }
    const evidenceText = `the issuer's top CA certificate has thumbprint ${actual}, but the provider lists ${listed.join(", ")}.${stale}`;
    const fix =
        "Run `pulumi up` on the EKS stack (ecrpull:oidcThumbprint fetch) and then on the ECR stack, so the provider lists the current thumbprint; " +
        `or set ecrpull:oidcThumbprint to "omit" if the issuer's certificate chains to a CA AWS trusts.`;
    if (ignored) {
        return {
            check: "thumbprint",
            verdict: "warn",
            evidence: `${evidenceText} AWS ignores thumbprints for EKS issuers, whose chain it verifies itself.`,
            fix,
        };
    }
    return { check: "thumbprint", verdict: "fail", evidence: evidenceText, fix, sts: sts.thumbprint };
}

interface StatementResult {
    readonly sid: string;
    readonly conditions: readonly ConditionResult[];
    readonly ok: boolean;
}

/** The web-identity statements of a trust for this provider, each with its conditions evaluated against the claims. */
function webIdentityStatements(role: KnownRole, provider: KnownProvider, claims: TokenClaims, effect: "Allow" | "Deny"): StatementResult[] {
    const issuerKey = issuerHostPath(provider.url);
    const request = (key: string): string[] | undefined => {
        if (key === `${issuerKey}:sub`) return claims.sub === undefined ? undefined : [claims.sub];
        if (key === `${issuerKey}:aud`) return claims.aud.length === 0 ? undefined : [...claims.aud];
        return undefined;
    };
    return (role.trust?.Statement ?? [])
        .filter((s) => (s.Effect ?? "Allow") === effect)
        .filter((s) =>
            federatedPrincipals(s).some(
                (arn) => arn === provider.arn || (providerHostPath(arn) === issuerKey && accountIdOfArn(arn) === accountIdOfArn(provider.arn)),
            ),
        )
        .filter((s) => actionMatches(s.Action, "sts:AssumeRoleWithWebIdentity"))
        .map((s, i) => {
            const conditions = Object.entries(s.Condition ?? {}).flatMap(([operator, block]) =>
                Object.entries(block ?? {}).map(([key, expected]) => {
                    const known = key === `${issuerKey}:sub` || key === `${issuerKey}:aud`;
                    const result = evaluateCondition(operator, key, expected, request(key));
                    return known ? result : { ...result, ok: result.ok === true && request(key) !== undefined ? true : undefined };
                }),
            );
            return { sid: s.Sid ?? `#${i + 1}`, conditions, ok: conditions.every((c) => c.ok === true) };
        });
}

const quoteList = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(", ");

function trustChecks(role: KnownRole, provider: KnownProvider | undefined, claims: TokenClaims, choice: RoleChoice): DoctorCheck[] {
    if (!role.trust) {
        return [
            {
                check: "trust",
                verdict: "fail",
                evidence: `role ${role.arn}: ${role.trustProblem}`,
                fix: "Run `pulumi up` on the stack that owns the role so its trust policy is written again.",
            },
        ];
    }
    if (!provider) {
        return [{ check: "trust", verdict: "skip", evidence: "no OIDC provider for the issuer (see issuer)" }];
    }
    const grant = grantOfRole(role.name);
    const allows = webIdentityStatements(role, provider, claims, "Allow");
    if (allows.length === 0) {
        const chained = (role.trust.Statement ?? []).some(
            (s) => actionMatches(s.Action, "sts:AssumeRole") && (s.Principal as { AWS?: unknown })?.AWS !== undefined,
        );
        const wl = choice.workload;
        return [
            {
                check: "trust",
                verdict: "fail",
                evidence: `the trust of ${role.name} allows no sts:AssumeRoleWithWebIdentity from ${provider.arn}`,
                fix: chained
                    ? `This role is reached by role chaining: the token is for the cluster-account role${wl?.clusterRoleArn ? ` ${wl.clusterRoleArn}` : ""}, which then assumes ${role.name}; give that EKS stack's export with --eks-state to check that hop.`
                    : `Add the cluster to the clusters of ${grant ? `grant "${grant}"` : "the role's grant"} with path federation (ecrpull:grants), then run \`pulumi up\` on the ECR stack.`,
                sts: sts.denied,
            },
        ];
    }
    const checks: DoctorCheck[] = [
        {
            check: "trust",
            verdict: "pass",
            evidence: `statement${allows.length === 1 ? "" : "s"} ${allows.map((s) => s.sid).join(", ")} allow${allows.length === 1 ? "s" : ""} sts:AssumeRoleWithWebIdentity from ${provider.arn}`,
        },
    ];

    const issuerKey = issuerHostPath(provider.url);
    const part = (suffix: string) => allows.flatMap((s) => s.conditions.filter((c) => c.key === `${issuerKey}:${suffix}`).map((c) => ({ sid: s.sid, c })));
    const others = allows.flatMap((s) => s.conditions.filter((c) => c.key !== `${issuerKey}:aud` && c.key !== `${issuerKey}:sub`));

    const aud = part("aud");
    if (aud.length === 0) {
        checks.push({
            check: "audience",
            verdict: "warn",
            evidence: `the trust does not pin ${issuerKey}:aud`,
            fix: `Pin ${issuerKey}:aud to ${STS_AUDIENCE}: this package's trusts always do; run \`pulumi up\` on the stack that owns ${role.name}.`,
        });
    } else if (aud.some(({ c }) => c.ok)) {
        const hit = aud.find(({ c }) => c.ok)!;
        checks.push({
            check: "audience",
            verdict: "pass",
            evidence: `aud ${quoteList(claims.aud)} satisfies ${hit.c.operator} ${hit.c.key} ${quoteList(hit.c.expected)} (statement ${hit.sid})`,
        });
    } else {
        checks.push({
            check: "audience",
            verdict: "fail",
            evidence: `aud ${quoteList(claims.aud)} does not satisfy ${aud.map(({ c, sid }) => `${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${sid})`).join("; ")}`,
            fix: AUDIENCE_FIX,
            sts: sts.denied,
        });
    }

    const sub = part("sub");
    const who = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
    if (sub.length === 0) {
        checks.push({
            check: "subject",
            verdict: "warn",
            evidence: `the trust does not pin ${issuerKey}:sub: every service account of the cluster may assume ${role.name}`,
            fix: `Pin ${issuerKey}:sub to the service accounts that need the role (facts.md: never copy the unconditioned trust of the seed article).`,
        });
    } else if (allows.some((s) => s.ok)) {
        const hit = allows.find((s) => s.ok)!;
        const c = hit.conditions.find((x) => x.key === `${issuerKey}:sub`)!;
        checks.push({
            check: "subject",
            verdict: "pass",
            evidence: `sub ${JSON.stringify(claims.sub)} satisfies ${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${hit.sid})`,
        });
    } else if (sub.some(({ c }) => c.ok)) {
        // The subject matched in some statement, but that statement fails on another condition: say which.
        const failing = allows.flatMap((s) =>
            s.conditions
                .filter((c) => c.ok !== true && c.key !== `${issuerKey}:aud`)
                .map((c) => `${c.operator} ${c.key} (statement ${s.sid})${c.ok === undefined ? ": the doctor cannot evaluate this condition" : ""}`),
        );
        checks.push({
            check: "subject",
            verdict: failing.length > 0 ? "fail" : "pass",
            evidence: `sub ${JSON.stringify(claims.sub)} is admitted by ${sub
                .filter(({ c }) => c.ok)
                .map(({ sid }) => sid)
                .join(", ")}${failing.length > 0 ? `, but that statement also requires ${failing.join("; ")}` : ""}`,
            ...(failing.length > 0
                ? { fix: "Remove or correct the other conditions of that statement: this package's trusts only pin aud and sub.", sts: sts.denied }
                : {}),
        });
    } else {
        const admitted = [...new Set(sub.flatMap(({ c }) => c.expected))].sort();
        const examples = admitted.map((s) => /^system:serviceaccount:([^:]+):([^:]+)$/.exec(s)).filter((m): m is RegExpExecArray => m !== null);
        const add = who ? `{ namespace: ${who[1]}, name: ${who[2]} }` : "the service account";
        const fix = role.arn.includes(`:role/${PULL_ROLE_NAME_PREFIX}`)
            ? `Run the pod as ${examples.length > 0 ? examples.map((m) => `${m[1]}/${m[2]}`).join(" or ") : "a service account the role admits"}, or add ${add} to the serviceAccounts of grant "${grant ?? "?"}" (ecrpull:grants) and run \`pulumi up\` on the ECR stack.`
            : `Run the pod as ${examples.length > 0 ? examples.map((m) => `${m[1]}/${m[2]}`).join(" or ") : "a service account the role admits"}, or add ${add} with grant "${grant ?? "?"}" to ecrpull:workloads of the EKS stack and to that grant's serviceAccounts, then run \`pulumi up\` on the EKS stack and the ECR stack.`;
        checks.push({
            check: "subject",
            verdict: "fail",
            evidence: `sub ${JSON.stringify(claims.sub)} matches none of ${sub.map(({ c, sid }) => `${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${sid})`).join("; ")}`,
            fix,
            sts: sts.denied,
        });
    }

    if (others.some((c) => c.ok === undefined) && !allows.some((s) => s.ok)) {
        checks.push({
            check: "trust",
            verdict: "warn",
            evidence: `the trust also has conditions the doctor cannot evaluate: ${[...new Set(others.filter((c) => c.ok === undefined).map((c) => `${c.operator} ${c.key}`))].join(", ")}`,
            fix: "Check those conditions by hand; this package's own trusts have none.",
        });
    }
    const denies = webIdentityStatements(role, provider, claims, "Deny").filter((s) => s.ok);
    if (denies.length > 0) {
        checks.push({
            check: "trust",
            verdict: "fail",
            evidence: `statement ${denies.map((s) => s.sid).join(", ")} denies this token explicitly`,
            fix: "Remove that Deny statement from the role's trust, or use another service account.",
            sts: sts.denied,
        });
    }
    return checks;
}

/** Chaining's second hop: the registry pull role must trust the cluster-account role with sts:AssumeRole. */
function chainCheck(docs: Documents, workload: Workload): DoctorCheck {
    const pull = findRole(docs, workload.roleArn);
    if (!pull?.trust) {
        return { check: "chain", verdict: "skip", evidence: `the pull role ${workload.roleArn} is not in the ECR state given` };
    }
    const account = accountIdOfArn(workload.clusterRoleArn);
    const hit = pull.trust.Statement.find((s) => {
        if ((s.Effect ?? "Allow") !== "Allow" || !actionMatches(s.Action, "sts:AssumeRole")) return false;
        const principals = strings((s.Principal as { AWS?: unknown })?.AWS) ?? [];
        if (!principals.some((p) => p === workload.clusterRoleArn || p === account || (/:root$/.test(p) && accountIdOfArn(p) === account))) return false;
        return Object.entries(s.Condition ?? {}).every(([operator, block]) =>
            Object.entries(block ?? {}).every(([key, expected]) => {
                if (key !== "aws:PrincipalArn") return false;
                const values = strings(expected) ?? [];
                return operator.startsWith("ArnEquals")
                    ? values.includes(workload.clusterRoleArn)
                    : operator.startsWith("ArnLike")
                      ? values.some((v) => like(v, workload.clusterRoleArn))
                      : false;
            }),
        );
    });
    if (hit) {
        return {
            check: "chain",
            verdict: "pass",
            evidence: `then ${pull.name} trusts ${workload.clusterRoleArn} for sts:AssumeRole (statement ${hit.Sid ?? "?"})`,
        };
    }
    return {
        check: "chain",
        verdict: "fail",
        evidence: `the trust of ${pull.arn} does not allow sts:AssumeRole from ${workload.clusterRoleArn}`,
        fix: `Add the cluster's stack to the clusters of grant "${workload.grant}" (ecrpull:grants) and run \`pulumi up\` on the ECR stack after the EKS stack.`,
        sts: "AccessDenied: ... is not authorized to perform: sts:AssumeRole",
    };
}

// ---- The diagnosis ---------------------------------------------------------------

const blocking = (checks: readonly DoctorCheck[]) => checks.some((c) => c.verdict === "fail");

function podIdentityCheck(workload: Workload, cluster: ClusterState | undefined): DoctorCheck {
    const name = cluster?.clusterName ?? "<cluster>";
    return {
        check: "path",
        verdict: "fail",
        evidence: `${workload.namespace}/${workload.serviceAccount} reaches grant "${workload.grant}" by EKS Pod Identity: its pods get credentials from the Pod Identity agent, never by sts:AssumeRoleWithWebIdentity with this token, so there is no token to check`,
        fix:
            `Check the association instead: \`aws eks list-pod-identity-associations --cluster-name ${name} --namespace ${workload.namespace} --service-account ${workload.serviceAccount}\` must show target role ${workload.roleArn}, ` +
            "and the eks-pod-identity-agent add-on must run on the pod's node; the pull role's trust checks the session tags, not this token.",
    };
}

/** Registry roles whose Pod Identity trust names the subject's service account: such a token meets no web-identity trust. */
function podIdentityRolesFor(docs: Documents, claims: TokenClaims): KnownRole[] {
    const who = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
    if (!who) return [];
    return docs.roles.filter((r) =>
        (r.trust?.Statement ?? []).some((s) => {
            const equals = { ...(s.Condition?.StringEquals ?? {}), ...(s.Condition?.StringLike ?? {}) } as Record<string, unknown>;
            const ns = strings(equals["aws:RequestTag/kubernetes-namespace"]);
            const sa = strings(equals["aws:RequestTag/kubernetes-service-account"]);
            return ns !== undefined && sa !== undefined && ns.some((p) => like(p, who[1])) && sa.some((p) => like(p, who[2]));
        }),
    );
}

function chooseRoles(docs: Documents, input: DoctorInput, claims: TokenClaims): { choices: RoleChoice[]; checks: DoctorCheck[] } {
    const iss = claims.iss!;
    const clusters = docs.clusters.filter((c) => c.issuerUrl !== undefined && samePlace(c.issuerUrl, iss));
    if (input.role !== undefined) {
        const role = findRole(docs, input.role);
        if (!role) {
            const names = docs.roles
                .map((r) => r.name)
                .sort()
                .join(", ");
            return {
                choices: [],
                checks: [
                    {
                        check: "roles",
                        verdict: "fail",
                        evidence: `no role ${JSON.stringify(input.role)} in the states given (they hold ${names || "no role"})`,
                        fix: "Name a role of those states by ARN or name with --role, or give the state of the stack that owns it.",
                    },
                ],
            };
        }
        const workload = clusters.flatMap((c) => c.workloads.map((w) => ({ w, c }))).find(({ w }) => w.roleArn === role.arn || w.clusterRoleArn === role.arn);
        return { choices: [{ roleArn: role.arn, reason: "named with --role", workload: workload?.w, cluster: workload?.c }], checks: [] };
    }
    for (const cluster of clusters) {
        const index = cluster.workloads.findIndex((w) => serviceAccountSubject(w.namespace, w.serviceAccount) === claims.sub);
        if (index >= 0) {
            const w = cluster.workloads[index];
            const roleArn = w.path === "chaining" ? w.clusterRoleArn : w.roleArn;
            return { choices: [{ roleArn, reason: `${cluster.state.source} output workloads[${index}] (${w.path})`, workload: w, cluster }], checks: [] };
        }
    }
    const trusting = rolesTrusting(docs, iss);
    if (trusting.length > 0) {
        return { choices: trusting.map((r) => ({ roleArn: r.arn, reason: "its trust names the token's issuer", cluster: clusters[0] })), checks: [] };
    }
    const known = [...new Set(docs.providers.map((p) => p.url))].sort().join(", ") || "none";
    const other = docs.clusters.filter((c) => c.issuerUrl !== undefined && !samePlace(c.issuerUrl, iss)).map((c) => `${c.state.source} is for ${c.issuerUrl}`);
    return {
        choices: [],
        checks: [
            {
                check: "roles",
                verdict: "fail",
                evidence: `no role in the states given trusts the issuer ${iss} (OIDC providers: ${known})${other.length > 0 ? `; ${other.join("; ")}` : ""}`,
                fix: "This token comes from a cluster whose issuer the registry does not federate: if it is the right cluster, add its EKS stack to ecrpull:clusterStacks and to a grant's clusters (ecrpull:grants), then run `pulumi up` on the ECR stack; otherwise use a token of a cluster the registry serves.",
                sts: sts.noProvider(iss),
            },
        ],
    };
}

function diagnoseRole(docs: Documents, choice: RoleChoice, claims: TokenClaims, evidence: IssuerEvidence, tokenChecks: readonly DoctorCheck[]): RoleDiagnosis {
    const role = findRole(docs, choice.roleArn);
    const base = {
        roleArn: choice.roleArn,
        reason: choice.reason,
        path: choice.workload?.path,
        grant: choice.workload?.grant ?? (role ? grantOfRole(role.name) : undefined),
    };
    if (choice.workload?.path === "podIdentity") {
        return { ...base, checks: [podIdentityCheck(choice.workload, choice.cluster)], admitted: false };
    }
    if (!role) {
        const where = choice.roleArn.includes(`:role/${PULL_ROLE_NAME_PREFIX}`) ? "the ECR stack" : "the EKS stack";
        const check: DoctorCheck = {
            check: "trust",
            verdict: "fail",
            evidence: `the role ${choice.roleArn} is not in the states given`,
            fix: `Give the export of ${where} that owns it${where === "the EKS stack" ? " with --eks-state" : ""}; if it is there, the role was never deployed: run \`pulumi up\` on that stack.`,
        };
        return { ...base, checks: [check], admitted: false };
    }
    const { check: issuer, provider } = issuerCheck(docs, claims, role);
    const checks: DoctorCheck[] = [issuer];
    const clientIds = clientIdCheck(claims, provider);
    const trust = trustChecks(role, provider, claims, choice);
    if (clientIds) {
        checks.push(clientIds);
    }
    const thumb = thumbprintCheck(claims, provider, choice.cluster, evidence);
    if (thumb) {
        checks.push(thumb);
    }
    checks.push(...trust);
    if (choice.workload?.path === "chaining" && choice.roleArn === choice.workload.clusterRoleArn) {
        checks.push(chainCheck(docs, choice.workload));
    }
    return { ...base, checks, admitted: !blocking(checks) && !blocking(tokenChecks) };
}

/**
 * The diagnosis, from the token, the states and what the issuer answered.
 * Pure: no I/O. Pass `{}` as evidence to diagnose offline (signature and
 * thumbprint are then reported as skipped).
 */
export function diagnoseToken(input: DoctorInput, evidence: IssuerEvidence): DoctorReport {
    let jwt: DecodedJwt;
    try {
        jwt = decodeJwt(input.token);
    } catch (error) {
        if (!(error instanceof JwtError)) throw error;
        const check: DoctorCheck = {
            check: "token",
            verdict: "fail",
            evidence: error.message,
            fix: "Give the token file itself (the pod's /var/run/secrets/eks.amazonaws.com/serviceaccount/token, copied unchanged).",
            sts: "InvalidIdentityToken",
        };
        return { claims: { aud: [] }, checks: [check], roles: [], admitted: false, summary: summaryOf([check], []) };
    }
    const claims = claimsOf(jwt);
    const docs = readDocuments(input);
    const format = formatCheck(claims);
    const checks: DoctorCheck[] = [format, expiryCheck(claims, input.now, input.clockSkewSeconds ?? 60)];
    if (claims.iss === undefined) {
        return { claims, checks, roles: [], admitted: false, summary: summaryOf(checks, []) };
    }
    checks.push(
        format.verdict === "fail"
            ? { check: "signature", verdict: "skip", evidence: "the token is not RS256-signed (see token)" }
            : signatureCheck(jwt, claims, evidence),
    );

    const chosen = chooseRoles(docs, input, claims);
    checks.push(...chosen.checks);
    let roles = chosen.choices.map((choice) => diagnoseRole(docs, choice, claims, evidence, checks));
    const scanned = input.role === undefined && chosen.choices.every((c) => c.workload === undefined);
    if (scanned && !roles.some((r) => r.admitted)) {
        // A Pod Identity service account meets no web-identity trust: say so rather than list other grants' refusals.
        const podRoles = podIdentityRolesFor(docs, claims);
        const who = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
        if (podRoles.length > 0 && who) {
            roles = podRoles.map((r) => {
                const workload = {
                    namespace: who[1],
                    serviceAccount: who[2],
                    grant: grantOfRole(r.name) ?? "?",
                    path: "podIdentity",
                    roleArn: r.arn,
                    clusterRoleArn: "",
                };
                return {
                    roleArn: r.arn,
                    reason: "its Pod Identity trust names the token's service account",
                    path: "podIdentity",
                    grant: workload.grant,
                    checks: [podIdentityCheck(workload, undefined)],
                    admitted: false,
                };
            });
        }
    }
    const admitted = !blocking(checks) && roles.some((r) => r.admitted);
    return { claims, checks, roles, admitted, summary: summaryOf(checks, roles) };
}

/** The order in which STS meets the problems: the first failure in this order is the error a pod sees. */
const STS_ORDER: readonly CheckName[] = ["token", "roles", "path", "issuer", "audience", "thumbprint", "signature", "expiry", "trust", "subject", "chain"];

function summaryOf(checks: readonly DoctorCheck[], roles: readonly RoleDiagnosis[]): string {
    const admitted = blocking(checks) ? [] : roles.filter((r) => r.admitted);
    if (admitted.length > 0) {
        return `STS would let this token assume ${admitted.map((r) => r.roleArn).join(" and ")}.`;
    }
    const failures = [...checks, ...roles.flatMap((r) => r.checks)].filter((c) => c.verdict === "fail");
    const first = [...failures].sort((a, b) => STS_ORDER.indexOf(a.check) - STS_ORDER.indexOf(b.check))[0];
    return first ? `STS would refuse this token: ${first.check}: ${first.evidence}.` : "STS would refuse this token: no role to check.";
}

// ---- With the issuer's answers ---------------------------------------------------

export interface ExamineOptions extends FetchOptions {
    /** Do not contact the issuer: signature and thumbprint are reported as skipped. */
    readonly offline?: boolean;
}

/**
 * Fetches the issuer's keys and TLS thumbprint for the token's `iss`, then
 * diagnoses. Network failures become failed checks with their reason, not
 * exceptions.
 */
export async function examineToken(input: DoctorInput, options: ExamineOptions = {}): Promise<DoctorReport> {
    let iss: string | undefined;
    try {
        iss = str(decodeJwt(input.token).payload.iss);
    } catch {
        iss = undefined;
    }
    if (options.offline || iss === undefined) {
        return diagnoseToken(input, {});
    }
    const issuer = iss;
    const [keys, thumbprint] = await Promise.all([
        fetchIssuerKeys(issuer, options).then(
            (value) => ({ ok: true as const, value }),
            (error) => ({ ok: false as const, error: error instanceof FetchError ? error.message : String((error as Error)?.message ?? error) }),
        ),
        fetchOidcThumbprint(issuer.replace(/\/$/, ""), {
            trustedCaPems: options.caPems,
            connectHost: options.connectTo?.host,
            port: options.connectTo?.port,
            timeoutMs: options.timeoutMs,
            attempts: 2,
        }).then(
            (value) => ({ ok: true as const, value }),
            (error) => ({ ok: false as const, error: error instanceof ThumbprintError ? error.reason : String((error as Error)?.message ?? error) }),
        ),
    ]);
    return diagnoseToken(input, { keys, thumbprint });
}

// ---- Text ----------------------------------------------------------------------

const MARK: Record<CheckVerdict, string> = { pass: "✔", fail: "✘", warn: "!", skip: "–" };

function formatChecks(checks: readonly DoctorCheck[], indent: string): string[] {
    return checks.flatMap((c) => [
        `${indent}${MARK[c.verdict]} ${c.check.padEnd(10)} ${c.evidence}`,
        ...(c.fix && (c.verdict === "fail" || c.verdict === "warn") ? [`${indent}  ${" ".repeat(10)} fix: ${c.fix}`] : []),
        ...(c.sts && c.verdict === "fail" ? [`${indent}  ${" ".repeat(10)} STS says: ${c.sts}`] : []),
    ]);
}

/** The report as terminal text: one line per check (✔ pass, ✘ fail, ! warning, – skipped), its fix and STS's error under failures. */
export function formatReport(report: DoctorReport): string {
    const c = report.claims;
    const lines = [
        `Token: ${c.sub ?? "(no sub)"} from ${c.iss ?? "(no iss)"}, aud ${c.aud.length > 0 ? c.aud.join(", ") : "(none)"}${c.exp !== undefined ? `, expires ${time(c.exp)}` : ""}`,
        ...formatChecks(report.checks, "  "),
    ];
    for (const role of report.roles) {
        lines.push(`Role ${role.roleArn}${role.grant ? ` (grant ${role.grant}${role.path ? `, ${role.path}` : ""})` : ""}: ${role.reason}`);
        lines.push(...formatChecks(role.checks, "  "));
    }
    lines.push(`${report.admitted ? "✔" : "✘"} ${report.summary}`);
    return lines.join("\n");
}
