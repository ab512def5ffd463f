/**
 * Reading the token the doctor is given: jose's `decodeProtectedHeader` and
 * `decodeJwt` decode the compact JWS (RFC 7515) and say whether its header
 * and claims are JSON objects; this module words their refusals as the doctor
 * always has, naming the part that is wrong and what a token looks like. It
 * does not check the signature (`signature.ts` does, with jose) nor decide
 * whether the token is acceptable (`token-checks.ts` does, and says why).
 */
import { isUtf8 } from "buffer";
import { decodeJwt, decodeProtectedHeader, errors } from "jose";

/** A decoded compact JWS. */
export interface DecodedToken {
    /** The token as given, white space around it removed: what jose verifies. */
    readonly compact: string;
    /** The JOSE header (`alg`, `kid`, `typ`). */
    readonly header: Readonly<Record<string, unknown>>;
    /** The claims (`iss`, `sub`, `aud`, `exp`...). */
    readonly payload: Readonly<Record<string, unknown>>;
}

/** Thrown when a text is not a compact JWS; the message says what is wrong and what a token looks like. */
export class TokenFormatError extends Error {}

const SHAPE =
    "a service-account token is three base64url parts separated by dots (header.payload.signature), as in the file /var/run/secrets/eks.amazonaws.com/serviceaccount/token";
/**
 * The doctor's own alphabet check, before jose: jose's base64url decoder
 * (atob where `Uint8Array.fromBase64` is missing) forgives `=` padding and
 * white space inside a part, which the doctor has always refused as "not
 * base64url text".
 */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** The refusal of a part that jose would not decode to a JSON object, worded from the part's text as the doctor reads it. */
function refusal(name: string, text: string, cause: unknown): TokenFormatError {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return new TokenFormatError(`The token's ${name} does not decode to JSON: ${SHAPE}.`);
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        // A JSON object jose refused: cannot happen after the bridging below; not a token-format problem then.
        throw cause;
    }
    return new TokenFormatError(`The token's ${name} decodes to ${JSON.stringify(value)}, not a JSON object: ${SHAPE}.`);
}

/**
 * A part as jose should decode it, so that jose decides what the doctor has
 * always decided; throws TokenFormatError for what the doctor refuses itself.
 *
 * The doctor has always read a part with Node's lenient Buffer decoding,
 * where jose's decoding is strict; the two differ on three inputs that no
 * Kubernetes issuer produces, bridged here to keep today's verdicts:
 *  - a part whose length leaves a lone character (length % 4 == 1): Buffer
 *    drops it, jose refuses the part;
 *  - bytes that are not UTF-8: Buffer reads them as U+FFFD, jose (a fatal
 *    TextDecoder) refuses the part;
 *  - a leading byte order mark: JSON.parse, and so the doctor, refuses it,
 *    jose's TextDecoder drops it and reads the JSON after it.
 * The first two are handed to jose re-encoded as Buffer reads them; the third
 * is refused here.
 */
function forJose(part: string, name: string): string {
    if (part === "" || !BASE64URL.test(part)) {
        throw new TokenFormatError(`The token's ${name} is not base64url text: ${SHAPE}.`);
    }
    const bytes = Buffer.from(part, "base64url");
    const text = bytes.toString("utf8");
    if (text.startsWith("\uFEFF")) {
        throw new TokenFormatError(`The token's ${name} does not decode to JSON: ${SHAPE}.`);
    }
    return part.length % 4 === 1 || !isUtf8(bytes) ? Buffer.from(text, "utf8").toString("base64url") : part;
}

/** Decodes one part with jose, turning jose's refusal (a TypeError for the header, JWTInvalid for the claims) into the doctor's message. */
function decodePart(part: string, name: "header" | "payload", decode: (part: string) => Record<string, unknown>): Record<string, unknown> {
    const given = forJose(part, name);
    try {
        return decode(given);
    } catch (error) {
        if (error instanceof TypeError || error instanceof errors.JWTInvalid) {
            throw refusal(name, Buffer.from(given, "base64url").toString("utf8"), error);
        }
        throw error;
    }
}

/**
 * Splits and decodes a compact JWS with jose. White space around the token (a
 * file's trailing newline) is ignored; anything else that is not a JWS throws
 * TokenFormatError. The signature is not checked here.
 */
export function decodeToken(text: string): DecodedToken {
    const compact = text.trim();
    if (compact === "") {
        throw new TokenFormatError(`The token is empty: ${SHAPE}.`);
    }
    // jose says "Invalid JWT" for any count but 3 (and something else for 5, a JWE); the doctor says how many it found.
    const parts = compact.split(".");
    if (parts.length !== 3) {
        throw new TokenFormatError(`The token has ${parts.length} part${parts.length === 1 ? "" : "s"}, not 3: ${SHAPE}.`);
    }
    const [header, payload, signature] = parts;
    // An empty signature is allowed here (an `alg: none` token has one), so that token-checks can say the token is not signed.
    if (!BASE64URL.test(signature)) {
        throw new TokenFormatError(`The token's signature is not base64url text: ${SHAPE}.`);
    }
    return {
        compact,
        header: decodePart(header, "header", (part) => decodeProtectedHeader(`${part}.${payload}.${signature}`)),
        payload: decodePart(payload, "payload", (part) => decodeJwt(`${header}.${part}.${signature}`)),
    };
}
