/**
 * The token's signature against the keys its issuer publishes, checked with
 * jose: `importJWK` makes a key of a published JWK, `compactVerify` checks the
 * compact JWS with it (RS256 only, as EKS signs), and jose's typed errors tell
 * a signature that does not verify (`JWSSignatureVerificationFailed`) from a
 * token jose will not check (`JWSInvalid`, `JOSENotSupported`). What the
 * outcome means, and what to do about it, is `token-checks.ts`'s.
 *
 * The doctor picks the keys to try itself (`candidateKeys`: those under the
 * token's kid, or every key when the token names none) rather than with jose's
 * `createLocalJWKSet`: jose's selection also drops keys for their `alg`, `use`,
 * `key_ops` or `kty`, and refuses several matches
 * (`JWKSMultipleMatchingKeys`), where the doctor has always tried each key
 * published under the kid, named the ones it tried, and told a key that is not
 * an RSA key ("the published key cannot check the signature") from a kid the
 * issuer does not publish.
 */
import * as crypto from "crypto";
import { compactVerify, errors, importJWK } from "jose";
import { DecodedToken } from "./token";

/** A key as the issuer's key set holds it. */
export type Jwk = Readonly<Record<string, unknown>>;

/** What one key says of the token's signature: it verifies or not, or the key cannot check it (and why). */
export type KeyOutcome = { readonly verifies: boolean } | { readonly unusable: string };

/** One key tried, and its outcome. */
export interface KeyVerification {
    /** The key, as found in the issuer's key set (the same object). */
    readonly key: Jwk;
    readonly outcome: KeyOutcome;
}

/** The keys that may have signed a token with this kid: those published under it, or all of them when the token names none. */
export function candidateKeys(keys: readonly Jwk[], kid: string | undefined): readonly Jwk[] {
    return kid === undefined ? keys : keys.filter((k) => k.kid === kid);
}

interface RsaPublicJwk {
    readonly kty: "RSA";
    readonly n: string;
    readonly e: string;
}

/**
 * The only members of a JWK the doctor verifies with: RS256 needs kty "RSA"
 * with n and e, and nothing else is looked at, as the doctor always did. jose,
 * given the whole JWK, would refuse one whose `alg` is not RS256, whose `use`
 * is not "sig" or whose `key_ops` lack "verify", and one that also holds the
 * private `d`; and `importJWK` needs an `alg` (given here) when the JWK has
 * none. Those keys keep today's verdict: the signature verifies with them or
 * not.
 */
function rsaPublicJwk(jwk: Jwk): RsaPublicJwk | { readonly unusable: string } {
    if (jwk.kty !== "RSA" || typeof jwk.n !== "string" || typeof jwk.e !== "string") {
        return {
            unusable: `key ${JSON.stringify(jwk.kid ?? "(no kid)")} is not an RSA public key (kty ${JSON.stringify(jwk.kty)}; RS256 needs kty "RSA" with n and e)`,
        };
    }
    return { kty: "RSA", n: jwk.n, e: jwk.e };
}

/**
 * jose's verdict on the token's signature with one published key.
 *
 * Where jose refuses to check what the doctor has always checked, the doctor
 * checks the same bytes with the same key by itself (`checkSigningInput`), to
 * keep today's verdict:
 *  - an RSA key shorter than 2048 bits: jose refuses it for RS256 (a
 *    TypeError, "RS256 requires key modulusLength to be 2048 bits or larger",
 *    RFC 7518 section 3.3); the doctor has always said whether the signature
 *    verifies with the key the issuer publishes, whatever its length;
 *  - a token jose will not verify for its form (`JWSInvalid`,
 *    `JOSENotSupported`): a `crit` header parameter jose does not implement or
 *    that is malformed, a header part jose's strict base64url or UTF-8
 *    decoding refuses (see `token.ts`), a signature part that is not canonical
 *    base64url. The doctor never judged these; the signature over the token's
 *    first two parts verifies or it does not.
 * `JOSEAlgNotAllowed` (a header naming another alg than RS256) reads as a
 * signature that does not verify; the doctor never asks, as such a token
 * fails the `token` check and its signature is then not checked. A JWK that
 * `importJWK` refuses would be unusable with jose's reason, but with kty
 * "RSA" and string n and e it imports whatever they hold, as Node's
 * `createPublicKey` did before (a bad n makes a key that verifies nothing).
 */
export async function verifyKeyWithJose(token: DecodedToken, jwk: Jwk): Promise<KeyOutcome> {
    const members = rsaPublicJwk(jwk);
    if ("unusable" in members) {
        return members;
    }
    let key: Awaited<ReturnType<typeof importJWK>>;
    try {
        key = await importJWK(members, "RS256");
    } catch (error) {
        return { unusable: (error as Error).message };
    }
    const modulusLength = (key as { algorithm?: { modulusLength?: unknown } }).algorithm?.modulusLength;
    if (typeof modulusLength !== "number" || modulusLength < 2048) {
        return checkSigningInput(token, members);
    }
    try {
        await compactVerify(token.compact, key, { algorithms: ["RS256"] });
        return { verifies: true };
    } catch (error) {
        if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JOSEAlgNotAllowed) {
            return { verifies: false };
        }
        if (error instanceof errors.JWSInvalid || error instanceof errors.JOSENotSupported) {
            return checkSigningInput(token, members);
        }
        return { unusable: (error as Error).message };
    }
}

/** jose's verdict on the token's signature with each of these keys (see `candidateKeys`), in their order. */
export async function verifyWithJose(token: DecodedToken, keys: readonly Jwk[]): Promise<KeyVerification[]> {
    return Promise.all(keys.map(async (key) => ({ key, outcome: await verifyKeyWithJose(token, key) })));
}

/**
 * The token's signature with one published key, checked synchronously with
 * Node's crypto: `diagnoseToken` is synchronous and pure, and when its
 * evidence holds the issuer's keys but not jose's outcome for a key
 * (`IssuerEvidence.signature`, which `examineToken` fills in), it checks the
 * signature itself. jose has no synchronous verification (it verifies with
 * WebCrypto, whose `verify` returns a promise), hence this adapter; it decides
 * as `verifyKeyWithJose` does.
 */
export function verifyKeySync(token: DecodedToken, jwk: Jwk): KeyOutcome {
    const members = rsaPublicJwk(jwk);
    return "unusable" in members ? members : checkSigningInput(token, members);
}

/**
 * RSASSA-PKCS1-v1_5 with SHA-256 (RS256) over the token's first two parts as
 * they are written, with Node's crypto and Node's lenient base64url reading of
 * the signature: the doctor's own check, for what jose has no equivalent of
 * (see `verifyKeyWithJose` and `verifyKeySync`). A token whose header names
 * another alg does not verify, as jose says with `algorithms: ["RS256"]`
 * (never asked by the doctor: see `verifyKeyWithJose`).
 */
function checkSigningInput(token: DecodedToken, jwk: RsaPublicJwk): KeyOutcome {
    if (token.header.alg !== "RS256") {
        return { verifies: false };
    }
    const [header, payload, signature] = token.compact.split(".");
    try {
        const key = crypto.createPublicKey({ key: { ...jwk }, format: "jwk" });
        return { verifies: crypto.verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url")) };
    } catch (error) {
        return { unusable: (error as Error).message };
    }
}
