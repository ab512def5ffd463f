/**
 * The doctor's checks of a role's OIDC provider: that the role's account has
 * an IAM OIDC provider for the token's issuer (`issuer`), that the token's
 * audience is among its client IDs (`audience`), and that the issuer's TLS
 * chain matches a thumbprint it lists (`thumbprint`). Also the errors STS
 * answers, which the trust checks and the role choice quote too.
 */
import { ClusterState, Documents, federatedPrincipals, grantOfRole, KnownProvider, KnownRole, providerHostPath, samePlace } from "./documents";
import { DoctorCheck, IssuerEvidence, TokenClaims } from "./types";
import { accountIdOfArn, issuerHostPath, STS_AUDIENCE } from "../../components/iam/names";

/** STS's error messages, so a user can match the one they got. */
export const STS_ERRORS = {
    noProvider: (iss: string) => `InvalidIdentityToken: No OpenIDConnect provider found in your account for ${iss}`,
    audience: "InvalidIdentityToken: Incorrect token audience",
    denied: "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
    thumbprint: "InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
};

/** The fix for a token whose audience STS refuses. */
export const AUDIENCE_FIX =
    `Give the pod a token whose audience is ${STS_AUDIENCE}: the IRSA webhook (amazon-eks-pod-identity-webhook) projects one into pods whose ServiceAccount has the ` +
    `eks.amazonaws.com/role-arn annotation (pods created before the annotation keep their old token: restart them); \`kubectl create token\` needs --audience ${STS_AUDIENCE}.`;

/** AWS verifies EKS issuers' certificates itself and ignores their thumbprints (docs/aws-facts.md, Thumbprints). */
const isEksIssuer = (iss: string): boolean => /^https:\/\/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//.test(iss);

/** `issuer`: the role's account has an IAM OIDC provider for the token's `iss`; returns that provider for the checks after it. */
export function issuerCheck(docs: Documents, claims: TokenClaims, role: KnownRole): { check: DoctorCheck; provider?: KnownProvider } {
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
            sts: STS_ERRORS.noProvider(iss),
        },
    };
}

/** `audience` against the provider: one of the token's audiences is a client ID; undefined when it is, or cannot be told. */
export function clientIdCheck(claims: TokenClaims, provider: KnownProvider | undefined): DoctorCheck | undefined {
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
        sts: STS_ERRORS.audience,
    };
}

/** `thumbprint`: the issuer's TLS chain against the provider's thumbprints; undefined when the state does not hold them. */
export function thumbprintCheck(
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
    return { check: "thumbprint", verdict: "fail", evidence: evidenceText, fix, sts: STS_ERRORS.thumbprint };
}
