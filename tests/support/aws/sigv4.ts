/**
 * AWS Signature Version 4 verification, as the STS and ECR front ends do it
 * (AWS General Reference, "Create a signed AWS API request"): the endpoint
 * issued every access key it accepts, so it knows the secret and the session
 * token that belong to it and recomputes the signature from the request as it
 * arrived (method, path, query, the headers the client says it signed, the
 * payload hash).
 */
import * as crypto from "crypto";

export interface SignedRequest {
    readonly method: string;
    /** Path and query as sent (`/`, `/?Action=…`). */
    readonly url: string;
    /** `IncomingMessage.rawHeaders`: name/value pairs in arrival order. */
    readonly rawHeaders: readonly string[];
    readonly body: Buffer;
}

export interface Credential {
    readonly secretAccessKey: string;
    readonly sessionToken: string;
}

export type SigV4Result =
    | { readonly ok: true; readonly accessKeyId: string; readonly region: string; readonly service: string }
    | {
          readonly ok: false;
          readonly code: "MissingAuthenticationToken" | "IncompleteSignature" | "InvalidClientTokenId" | "SignatureDoesNotMatch";
          readonly message: string;
      };

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/;

const hmac = (key: Buffer | string, data: string) => crypto.createHmac("sha256", key).update(data, "utf8").digest();
const sha256hex = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest("hex");

/** RFC 3986 unreserved characters stay, everything else is %XX (upper case), as SigV4 wants. */
function uriEncode(text: string): string {
    return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
    if (query === "") {
        return "";
    }
    return query
        .split("&")
        .filter((p) => p !== "")
        .map((pair) => {
            const i = pair.indexOf("=");
            const [k, v] = i < 0 ? [pair, ""] : [pair.slice(0, i), pair.slice(i + 1)];
            const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
            return [uriEncode(decode(k)), uriEncode(decode(v))] as const;
        })
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join("&");
}

/** Non-S3 services normalise the path and encode each segment (once more). */
function canonicalPath(path: string): string {
    const segments: string[] = [];
    for (const segment of path.split("/")) {
        if (segment === "" || segment === ".") {
            continue;
        }
        if (segment === "..") {
            segments.pop();
        } else {
            segments.push(segment);
        }
    }
    const normalised = `/${segments.join("/")}${path.endsWith("/") && segments.length > 0 ? "/" : ""}`;
    return normalised
        .split("/")
        .map((s) => uriEncode(s))
        .join("/");
}

export function headerValues(rawHeaders: readonly string[], name: string): string[] {
    const out: string[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        if (rawHeaders[i].toLowerCase() === name) {
            out.push(rawHeaders[i + 1]);
        }
    }
    return out;
}

/**
 * Verifies the request's signature with the credential `lookup` finds for its
 * access key. `expect` is the region and service the endpoint answers for:
 * a signature scoped to another region or service is refused, as AWS does.
 */
export function verifySigV4(
    request: SignedRequest,
    lookup: (accessKeyId: string) => Credential | undefined,
    expect: { readonly region: string; readonly service: string },
    now = new Date(),
): SigV4Result {
    const authorization = headerValues(request.rawHeaders, "authorization")[0];
    if (!authorization) {
        return { ok: false, code: "MissingAuthenticationToken", message: "Request is missing Authentication Token" };
    }
    const match = AUTH.exec(authorization.trim());
    if (!match) {
        return {
            ok: false,
            code: "IncompleteSignature",
            message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters: ${authorization}`,
        };
    }
    const [, accessKeyId, date, region, service, signedHeadersText, signature] = match;
    const credential = lookup(accessKeyId);
    if (!credential) {
        return { ok: false, code: "InvalidClientTokenId", message: "The security token included in the request is invalid." };
    }
    const amzDate = headerValues(request.rawHeaders, "x-amz-date")[0] ?? "";
    if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
        return { ok: false, code: "IncompleteSignature", message: `X-Amz-Date ${JSON.stringify(amzDate)} does not match the credential scope date ${date}` };
    }
    const signedAt = Date.UTC(
        +amzDate.slice(0, 4),
        +amzDate.slice(4, 6) - 1,
        +amzDate.slice(6, 8),
        +amzDate.slice(9, 11),
        +amzDate.slice(11, 13),
        +amzDate.slice(13, 15),
    );
    if (Math.abs(now.getTime() - signedAt) > 15 * 60 * 1000) {
        return {
            ok: false,
            code: "SignatureDoesNotMatch",
            message: `Signature expired: ${amzDate} is now earlier than 15 minutes before ${now.toISOString()}`,
        };
    }
    if (region !== expect.region || service !== expect.service) {
        return {
            ok: false,
            code: "SignatureDoesNotMatch",
            message: `Credential should be scoped to a valid region / service: got ${region}/${service}, expected ${expect.region}/${expect.service}.`,
        };
    }
    const token = headerValues(request.rawHeaders, "x-amz-security-token")[0];
    if (token !== credential.sessionToken) {
        return { ok: false, code: "InvalidClientTokenId", message: "The security token included in the request is invalid." };
    }
    const signedHeaders = signedHeadersText.split(";");
    if (!signedHeaders.includes("host")) {
        return { ok: false, code: "SignatureDoesNotMatch", message: "'Host' must be a 'SignedHeader' in the AWS Authorization." };
    }
    const canonicalHeaders = signedHeaders
        .map(
            (name) =>
                `${name}:${headerValues(request.rawHeaders, name)
                    .map((v) => v.trim().replace(/\s+/g, " "))
                    .join(",")}\n`,
        )
        .join("");
    const q = request.url.indexOf("?");
    const path = q < 0 ? request.url : request.url.slice(0, q);
    const query = q < 0 ? "" : request.url.slice(q + 1);
    // The payload hash is the body's; a client's x-amz-content-sha256 must agree with it.
    const payloadHash = sha256hex(request.body);
    const declared = headerValues(request.rawHeaders, "x-amz-content-sha256")[0];
    if (declared !== undefined && declared !== payloadHash) {
        return { ok: false, code: "SignatureDoesNotMatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
    }
    const canonical = [request.method, canonicalPath(path), canonicalQuery(query), canonicalHeaders, signedHeadersText, payloadHash].join("\n");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
    const key = hmac(hmac(hmac(hmac(`AWS4${credential.secretAccessKey}`, date), region), service), "aws4_request");
    const expected = hmac(key, stringToSign).toString("hex");
    if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
        return {
            ok: false,
            code: "SignatureDoesNotMatch",
            message: `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
        };
    }
    return { ok: true, accessKeyId, region, service };
}
