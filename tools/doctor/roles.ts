/**
 * Which roles the doctor checks for a token, and the checks of one role.
 *
 * The role is the one named with `--role`, else the one the EKS stack's
 * `workloads` output gives the token's service account, else every role whose
 * trust names the token's issuer. A service account that reaches its grant by
 * EKS Pod Identity never presents its token to STS, so for it the doctor says
 * that instead of checking a web-identity trust.
 */
import { like } from "./conditions";
import { ClusterState, Documents, findRole, grantOfRole, KnownRole, RoleChoice, rolesTrusting, samePlace, strings, Workload } from "./documents";
import { clientIdCheck, issuerCheck, STS_ERRORS, thumbprintCheck } from "./provider";
import { chainCheck, trustChecks } from "./trust";
import { DoctorCheck, DoctorInput, IssuerEvidence, RoleDiagnosis, TokenClaims } from "./types";
import { PULL_ROLE_NAME_PREFIX, serviceAccountSubject } from "../../components/iam/names";

/** Whether any of the checks fails (a warning does not block). */
export const blocking = (checks: readonly DoctorCheck[]) => checks.some((c) => c.verdict === "fail");

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

/** The roles to check for this token, or a failed `roles` check saying why there are none. */
export function chooseRoles(docs: Documents, input: DoctorInput, claims: TokenClaims): { choices: RoleChoice[]; checks: DoctorCheck[] } {
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
                sts: STS_ERRORS.noProvider(iss),
            },
        ],
    };
}

/** Every check of one role, in the order they are printed; admitted only if neither these nor the token's checks fail. */
export function diagnoseRole(
    docs: Documents,
    choice: RoleChoice,
    claims: TokenClaims,
    evidence: IssuerEvidence,
    tokenChecks: readonly DoctorCheck[],
): RoleDiagnosis {
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
 * The Pod Identity roles that name the token's service account, each reported
 * as such; none when the subject is not a service account or no role names it.
 */
export function podIdentityDiagnoses(docs: Documents, claims: TokenClaims): RoleDiagnosis[] {
    const who = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
    if (!who) return [];
    return podIdentityRolesFor(docs, claims).map((r) => {
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
