/**
 * The doctor's vocabulary: what it is given (`DoctorInput`, `IssuerEvidence`)
 * and what it answers (`DoctorReport`: one `DoctorCheck` per thing STS looks
 * at). Types only; `token-doctor.ts` re-exports them with the functions that
 * produce them.
 */
import { IssuerKeys } from "./discovery";
import { KeyVerification } from "./signature";
import { StackExport } from "../state/stack-export";

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
    /**
     * What jose said of the token's signature with the published keys it was
     * checked against (`verifySignature`; `examineToken` fills this in). A key
     * of `keys` not found here (by identity) is checked synchronously instead,
     * with the same verdict (`signature.ts`).
     */
    readonly signature?: readonly KeyVerification[];
}
