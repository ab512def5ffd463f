/**
 * Fetches what STS fetches before it believes a web-identity token: the
 * issuer's OpenID Connect discovery document
 * (`<issuer>/.well-known/openid-configuration`, OpenID Connect Discovery 1.0
 * section 4) and the key set its `jwks_uri` names. Over TLS only, with a
 * timeout, and with errors that say which URL failed and how.
 *
 * This module's job is I/O; what the documents mean is `token-doctor.ts`'s.
 */
import * as https from "https";
import * as net from "net";
import * as tls from "tls";

export interface FetchOptions {
    /** PEM CA certificates to trust instead of Node's bundled roots (a private issuer, or a test's own CA). */
    readonly caPems?: readonly string[];
    /**
     * Connect here instead of the URL's host and port, keeping the URL's host
     * for SNI, the Host header and the certificate check (curl's
     * `--connect-to`). For tests and for issuers reached through a tunnel.
     */
    readonly connectTo?: { readonly host: string; readonly port: number };
    /** Per request: the whole response must arrive within this. Default 5000. */
    readonly timeoutMs?: number;
}

/** A fetch that failed; `message` is one sentence naming the URL and what went wrong. */
export class FetchError extends Error {
    constructor(
        readonly url: string,
        readonly reason: string,
    ) {
        super(`GET ${url} failed: ${reason}`);
        this.name = "FetchError";
    }
}

/** The most a discovery document or key set may weigh; real ones are a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** TLS verification failures, which a CA bundle (or its absence) explains. */
const CERTIFICATE_CODES = new Set([
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_GET_ISSUER_CERT",
    "CERT_UNTRUSTED",
    "CERT_SIGNATURE_FAILURE",
]);

function describeError(error: unknown, connectHost: string, port: number): string {
    const err = error as NodeJS.ErrnoException;
    const code = typeof err?.code === "string" ? err.code : "";
    if (code === "ECONNREFUSED") return `connection to ${connectHost}:${port} refused (ECONNREFUSED)`;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `DNS lookup of ${connectHost} failed (${code})`;
    if (code === "ECONNRESET") return "the connection was reset (ECONNRESET)";
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `the server's certificate is not for this host (${err.message})`;
    if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return `the server's certificate is outside its validity period (${code})`;
    if (CERTIFICATE_CODES.has(code)) return `the server's certificate chain is not trusted (${code}); give the issuer's CA with --ca if it is a private one`;
    return `${err?.message ?? String(error)}${code && !String(err?.message).includes(code) ? ` (${code})` : ""}`;
}

/**
 * GETs `url` (https only) and parses the body as JSON. Redirects are not
 * followed: the discovery document and key set must be where the issuer
 * says. Throws FetchError.
 */
export function fetchJson(url: string, options: FetchOptions = {}): Promise<unknown> {
    let target: URL;
    try {
        target = new URL(url);
    } catch {
        return Promise.reject(new FetchError(url, "it is not an absolute URL"));
    }
    if (target.protocol !== "https:") {
        return Promise.reject(new FetchError(url, `it uses ${target.protocol}//; STS fetches issuer documents over https only`));
    }
    const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
    const connectHost = options.connectTo?.host ?? hostname;
    const port = options.connectTo?.port ?? (target.port === "" ? 443 : Number(target.port));
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<unknown>((resolve, reject) => {
        let settled = false;
        const finish = (error: FetchError | undefined, value?: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            request.destroy();
            if (error) reject(error);
            else resolve(value);
        };
        const request = https.request({
            host: connectHost,
            port,
            path: `${target.pathname}${target.search}`,
            method: "GET",
            headers: { host: target.host, accept: "application/json" },
            // SNI takes DNS names only; the certificate is checked against the URL's host, not the address connected to.
            ...(net.isIP(hostname) === 0 ? { servername: hostname } : {}),
            checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(hostname, cert),
            ...(options.caPems ? { ca: [...options.caPems] } : {}),
            agent: false,
        });
        const timer = setTimeout(() => finish(new FetchError(url, `no complete answer within ${timeoutMs} ms (timeout)`)), timeoutMs);
        request.on("error", (error) => finish(new FetchError(url, describeError(error, connectHost, port))));
        request.on("response", (response) => {
            const status = response.statusCode ?? 0;
            if (status !== 200) {
                const where = response.headers.location ? ` to ${response.headers.location} (redirects are not followed)` : "";
                response.resume();
                finish(new FetchError(url, `HTTP ${status}${where}`));
                return;
            }
            const chunks: Buffer[] = [];
            let size = 0;
            response.on("data", (chunk: Buffer) => {
                size += chunk.length;
                if (size > MAX_BODY_BYTES) {
                    finish(new FetchError(url, `the answer is larger than ${MAX_BODY_BYTES} bytes`));
                    return;
                }
                chunks.push(chunk);
            });
            response.on("error", (error) => finish(new FetchError(url, describeError(error, connectHost, port))));
            response.on("end", () => {
                try {
                    finish(undefined, JSON.parse(Buffer.concat(chunks).toString("utf8")));
                } catch {
                    finish(new FetchError(url, "the answer is not JSON"));
                }
            });
        });
        request.end();
    });
}

/** The discovery document's address for an issuer (Discovery 1.0 section 4: a trailing slash of the issuer is dropped first). */
export function discoveryUrl(issuer: string): string {
    return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

/** What an issuer publishes about its signing keys. */
export interface IssuerKeys {
    readonly discoveryUrl: string;
    /** The discovery document's `issuer`, which must equal the tokens' `iss`. */
    readonly issuer: unknown;
    readonly jwksUri: string;
    /** The `keys` of the key set. */
    readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/**
 * Fetches the discovery document of `issuer` and the key set it names.
 * Throws FetchError when either cannot be fetched or has no usable shape.
 */
export async function fetchIssuerKeys(issuer: string, options: FetchOptions = {}): Promise<IssuerKeys> {
    const url = discoveryUrl(issuer);
    const document = await fetchJson(url, options);
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
        throw new FetchError(url, "the answer is not a JSON object");
    }
    const jwksUri = (document as Record<string, unknown>).jwks_uri;
    if (typeof jwksUri !== "string" || jwksUri === "") {
        throw new FetchError(url, "the discovery document has no jwks_uri");
    }
    const jwks = await fetchJson(jwksUri, sameHostOnly(options, url, jwksUri));
    const keys = (jwks as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) {
        throw new FetchError(jwksUri, "the key set has no keys array");
    }
    return {
        discoveryUrl: url,
        issuer: (document as Record<string, unknown>).issuer,
        jwksUri,
        keys: keys.filter((k): k is Record<string, unknown> => typeof k === "object" && k !== null && !Array.isArray(k)),
    };
}

/** `connectTo` stands for the issuer's host: a key set on another host is fetched from that host itself. */
function sameHostOnly(options: FetchOptions, from: string, to: string): FetchOptions {
    try {
        return new URL(from).host === new URL(to).host ? options : { ...options, connectTo: undefined };
    } catch {
        return options;
    }
}
