/**
 * The doctor's checks of the token by itself, before any role is looked at:
 * its format and claims (`token`), its lifetime against the clock (`expiry`),
 * and its signature against the keys the issuer publishes (`signature`).
 */
import { strings, str } from "./documents";
import { DoctorCheck, IssuerEvidence, TokenClaims } from "./types";
import { candidateKeys, verifyKeySync } from "./signature";
import { DecodedToken } from "./token";

/** A time in seconds since the epoch, as an ISO date without milliseconds. */
export const time = (seconds: number): string => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

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

/** The claims the checks look at, from a decoded token (empty, non-string or non-finite values read as absent). */
export function claimsOf(jwt: DecodedToken): TokenClaims {
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

/** `token`: signed with RS256 (as EKS signs), carrying iss, sub, aud and exp, and naming its key. */
export function formatCheck(claims: TokenClaims): DoctorCheck {
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

/** `expiry`: not expired, and not issued or valid only in the future, within `skew` seconds. */
export function expiryCheck(claims: TokenClaims, now: Date, skew: number): DoctorCheck {
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

/** `signature`: the issuer's discovery document names the token's iss, and the signature verifies with a key it publishes under the token's kid. */
export function signatureCheck(jwt: DecodedToken, claims: TokenClaims, evidence: IssuerEvidence): DoctorCheck {
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
    const candidates = candidateKeys(value.keys, claims.kid);
    if (candidates.length === 0) {
        return {
            check: "signature",
            verdict: "fail",
            evidence: `the issuer publishes no key with kid ${JSON.stringify(claims.kid)} at ${value.jwksUri} (it publishes ${kids})`,
            fix: `The token was signed by a key the issuer does not publish: if the token is old, the cluster's signing key has rotated since, so ${FRESH_TOKEN}; if a fresh token fails too, it was not issued by ${claims.iss}.`,
            sts: "InvalidIdentityToken",
        };
    }
    // jose's outcomes when examineToken gathered them; otherwise (diagnoseToken called with keys alone) checked here, synchronously.
    const verified = new Map((evidence.signature ?? []).map((v) => [v.key, v.outcome]));
    const problems: string[] = [];
    for (const key of candidates) {
        const outcome = verified.get(key) ?? verifyKeySync(jwt, key);
        if ("unusable" in outcome) {
            problems.push(outcome.unusable);
        } else if (outcome.verifies) {
            return {
                check: "signature",
                verdict: "pass",
                evidence: `RS256 signature verifies with key ${JSON.stringify(key.kid ?? "(no kid)")} from ${value.jwksUri}`,
            };
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
