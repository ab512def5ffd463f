/**
 * Just enough JSON Web Token handling for the doctor: split and decode a
 * compact JWS (RFC 7515) and verify an RS256 signature with a JWK (RFC 7517)
 * using Node's crypto. No new dependency: a service-account token is a
 * three-part compact JWS, and STS accepts only asymmetric signatures, so this
 * is all a diagnosis needs. It does not decide whether a token is acceptable;
 * `token-doctor.ts` does, and says why.
 */
import * as crypto from "crypto";

/** A decoded compact JWS. */
export interface DecodedJwt {
    /** The JOSE header (`alg`, `kid`, `typ`). */
    readonly header: Readonly<Record<string, unknown>>;
    /** The claims (`iss`, `sub`, `aud`, `exp`...). */
    readonly payload: Readonly<Record<string, unknown>>;
    /** `<header>.<payload>` as found in the token: what the signature covers. */
    readonly signingInput: string;
    readonly signature: Buffer;
}

/** Thrown when a text is not a compact JWS; the message says what is wrong and what a token looks like. */
export class JwtError extends Error {}

const SHAPE =
    "a service-account token is three base64url parts separated by dots (header.payload.signature), as in the file /var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodePart(part: string, name: string): Record<string, unknown> {
    if (!BASE64URL.test(part) || part === "") {
        throw new JwtError(`The token's ${name} is not base64url text: ${SHAPE}.`);
    }
    let value: unknown;
    try {
        value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    } catch {
        throw new JwtError(`The token's ${name} does not decode to JSON: ${SHAPE}.`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new JwtError(`The token's ${name} decodes to ${JSON.stringify(value)}, not a JSON object: ${SHAPE}.`);
    }
    return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWS. White space around the token (a file's
 * trailing newline) is ignored; anything else that is not a JWS throws
 * JwtError. The signature is not checked here.
 */
export function decodeJwt(text: string): DecodedJwt {
    const token = text.trim();
    if (token === "") {
        throw new JwtError(`The token is empty: ${SHAPE}.`);
    }
    const parts = token.split(".");
    if (parts.length !== 3) {
        throw new JwtError(`The token has ${parts.length} part${parts.length === 1 ? "" : "s"}, not 3: ${SHAPE}.`);
    }
    if (!BASE64URL.test(parts[2])) {
        throw new JwtError(`The token's signature is not base64url text: ${SHAPE}.`);
    }
    return {
        header: decodePart(parts[0], "header"),
        payload: decodePart(parts[1], "payload"),
        signingInput: `${parts[0]}.${parts[1]}`,
        signature: Buffer.from(parts[2], "base64url"),
    };
}

/** Base64url without padding, as JWS uses it. */
export function base64url(data: Buffer | string): string {
    return Buffer.from(data).toString("base64url");
}

/**
 * True when `jwt`'s RS256 signature verifies with the RSA public key `jwk`.
 * Throws when the JWK is not a usable RSA public key, so that a broken key set
 * is told apart from a forged token.
 */
export function verifyRs256(jwt: DecodedJwt, jwk: Readonly<Record<string, unknown>>): boolean {
    if (jwk.kty !== "RSA" || typeof jwk.n !== "string" || typeof jwk.e !== "string") {
        throw new Error(
            `key ${JSON.stringify(jwk.kid ?? "(no kid)")} is not an RSA public key (kty ${JSON.stringify(jwk.kty)}; RS256 needs kty "RSA" with n and e)`,
        );
    }
    const key = crypto.createPublicKey({ key: { kty: "RSA", n: jwk.n, e: jwk.e }, format: "jwk" });
    return crypto.verify("RSA-SHA256", Buffer.from(jwt.signingInput), key, jwt.signature);
}
