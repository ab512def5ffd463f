/**
 * RS256 JSON Web Tokens for the emulated cluster issuers: the kubelet signs
 * projected service-account tokens with the cluster's key, and the local STS
 * and EKS Auth verify them with the public half, as AWS fetches it from the
 * issuer's JWKS. Independent of the doctor's token module (tools/doctor/token.ts) on purpose: the
 * endpoint stands in for AWS, not for the package.
 */
import * as crypto from "crypto";

export interface IssuerKey {
    readonly kid: string;
    readonly privateKey: crypto.KeyObject;
    readonly publicKey: crypto.KeyObject;
}

export function newIssuerKey(kid: string): IssuerKey {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    return { kid, privateKey, publicKey };
}

const b64 = (value: Buffer | string) => Buffer.from(value).toString("base64url");

export function signJwt(claims: Record<string, unknown>, key: IssuerKey): string {
    const input = `${b64(JSON.stringify({ alg: "RS256", kid: key.kid }))}.${b64(JSON.stringify(claims))}`;
    return `${input}.${b64(crypto.sign("RSA-SHA256", Buffer.from(input), key.privateKey))}`;
}

export interface ParsedJwt {
    readonly header: Record<string, unknown>;
    readonly claims: Record<string, unknown>;
    readonly signingInput: string;
    readonly signature: Buffer;
}

/** Splits and decodes a compact JWS; undefined when the text is not one. */
export function parseJwt(text: string): ParsedJwt | undefined {
    const parts = text.trim().split(".");
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
        return undefined;
    }
    try {
        const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
        const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        if (typeof header !== "object" || header === null || typeof claims !== "object" || claims === null) {
            return undefined;
        }
        return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], "base64url") };
    } catch {
        return undefined;
    }
}

/** True when the token is RS256 and its signature verifies with the key. */
export function verifyJwt(jwt: ParsedJwt, publicKey: crypto.KeyObject): boolean {
    return jwt.header.alg === "RS256" && crypto.verify("RSA-SHA256", Buffer.from(jwt.signingInput), publicKey, jwt.signature);
}

/** The token's audiences, whether `aud` is a string or a list. */
export function audiences(claims: Record<string, unknown>): string[] {
    const aud = claims.aud;
    return typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
}
