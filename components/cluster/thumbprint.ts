/**
 * Thumbprint of an OpenID Connect identity provider, as IAM wants it.
 *
 * IAM's thumbprint for an OIDC provider is the lowercase hex SHA-1 of the DER
 * encoding of the TOP certificate-authority certificate of the chain that the
 * issuer host presents in its TLS handshake: the last certificate the server
 * sends, never the leaf. See the AWS IAM documentation, "Obtain the thumbprint
 * for an OpenID Connect identity provider", which says to take the last
 * certificate printed by `openssl s_client -showcerts`. Tools that hashed the
 * leaf instead produced thumbprints that broke on every certificate rotation:
 * aws/aws-cdk#8607 and pulumi/pulumi-eks#342.
 *
 * IAM ignores the thumbprint for issuers whose certificate chains to a CA that
 * AWS trusts (EKS issuers included), so callers may skip it entirely; deciding
 * that is the caller's business, not this module's.
 *
 * Node detail that matters here: `socket.getPeerCertificate(true)` COMPLETES the
 * presented chain with issuers found in the TLS context's CA store (node's
 * C++ GetLastIssuedCert under src/crypto/), so with the default store
 * the "top" would depend on the machine's trust store (including
 * NODE_EXTRA_CA_CERTS). We therefore connect with `ca: []`: in Node 20,
 * lib/internal/tls/secure-context.js `configSecureContext` does
 * `if (ca) { addCACerts(...) } else { context.addRootCerts(); }`, and `[]` is
 * truthy, so the bundled/extra roots are never added and the context's
 * X509_STORE stays empty; `addCACerts` with an empty array adds nothing. The
 * walk over `issuerCertificate` then only sees certificates the server sent
 * (tests/thumbprint.test.ts checks this in a child process whose
 * NODE_EXTRA_CA_CERTS holds the test root: a default-store connection sees
 * leaf + intermediate + root, while this module still reports the
 * intermediate, which is the top of what the server sent). Caveat: Node orders
 * the presented certificates by issuance and drops any the server sent that do
 * not chain from the leaf. With
 * `rejectUnauthorized: false` the handshake completes without a trust decision,
 * and this module verifies the chain itself with `crypto.X509Certificate`.
 *
 * Pure module: creates no Pulumi resources and imports nothing from @pulumi/*.
 */
import * as crypto from "crypto";
import * as net from "net";
import * as tls from "tls";

/** The stack configuration key that lets users skip the thumbprint; named in error messages. */
const OMIT_ADVICE = 'set ecrpull:oidcThumbprint to "omit" (IAM does not need a thumbprint for issuers whose certificate chains to a CA AWS trusts)';

export interface ThumbprintOptions {
    /** Per attempt: connect + handshake must finish within this. Default 5000. */
    readonly timeoutMs?: number;
    /** Total attempts, at least 1. Default 3. */
    readonly attempts?: number;
    /** Delay before the second attempt, doubled for each further one. Default 500. */
    readonly retryDelayMs?: number;
    /** PEM CA certificates to trust instead of Node's bundled roots. */
    readonly trustedCaPems?: readonly string[];
    /** Connect to this host/IP instead of the issuer host (SNI and host check still use the issuer host). For tests. */
    readonly connectHost?: string;
    /** Port, default from the URL or 443. */
    readonly port?: number;
}

/** What went wrong; network-type kinds are retried, the others are not. */
export type ThumbprintFailureKind =
    | "invalid-url"
    | "invalid-options"
    | "connection-refused"
    | "timeout"
    | "dns"
    | "network"
    | "no-ca"
    | "untrusted"
    | "host-mismatch"
    | "expired"
    | "not-yet-valid"
    | "bad-certificate";

const RETRYABLE: ReadonlySet<ThumbprintFailureKind> = new Set<ThumbprintFailureKind>(["connection-refused", "timeout", "dns", "network"]);

export class ThumbprintError extends Error {
    /** The issuer host (empty when the URL could not be parsed). */
    readonly host: string;
    /** Short description of what failed, e.g. "connection refused (ECONNREFUSED)". */
    readonly reason: string;
    /** Machine-readable category of the failure. */
    readonly kind: ThumbprintFailureKind;
    /** Port, when known. */
    readonly port?: number;
    /** Connection attempts made (0 when the failure happened before connecting). */
    readonly attempts: number;

    constructor(
        message: string,
        details: {
            host: string;
            reason: string;
            kind: ThumbprintFailureKind;
            port?: number;
            attempts?: number;
        },
    ) {
        super(message);
        this.name = "ThumbprintError";
        this.host = details.host;
        this.reason = details.reason;
        this.kind = details.kind;
        this.port = details.port;
        this.attempts = details.attempts ?? 0;
    }
}

/** Internal: a failure before it is turned into a ThumbprintError with host, port and attempt count. */
class Failure extends Error {
    constructor(
        readonly kind: ThumbprintFailureKind,
        readonly reason: string,
    ) {
        super(reason);
    }
}

function invalidUrl(issuerUrl: string, problem: string, host = ""): ThumbprintError {
    const reason = `invalid OIDC issuer URL ${JSON.stringify(issuerUrl)}: ${problem}`;
    return new ThumbprintError(
        `Invalid OIDC issuer URL ${JSON.stringify(issuerUrl)}: ${problem}. ` +
            "IAM expects the issuer exactly as it appears in the tokens' iss claim, e.g. " +
            "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789 (https, a host, optional path, " +
            "no query, no fragment, no trailing slash).",
        { host, reason, kind: "invalid-url" },
    );
}

/** Splits and checks an issuer URL: must be https, have a host, no query/fragment, no trailing slash. Throws ThumbprintError with a clear message otherwise. */
export function parseIssuerUrl(issuerUrl: string): { host: string; port: number } {
    if (typeof issuerUrl !== "string" || issuerUrl.trim() === "") {
        throw invalidUrl(String(issuerUrl ?? ""), "it is empty");
    }
    if (issuerUrl !== issuerUrl.trim()) {
        throw invalidUrl(issuerUrl, "it has leading or trailing whitespace");
    }
    let url: URL;
    try {
        url = new URL(issuerUrl);
    } catch {
        throw invalidUrl(issuerUrl, "it is not a valid absolute URL");
    }
    if (url.protocol !== "https:") {
        throw invalidUrl(issuerUrl, `it must use https://, not ${url.protocol}//`);
    }
    let host = url.hostname;
    if (host.startsWith("[") && host.endsWith("]")) {
        host = host.slice(1, -1);
    }
    if (host === "") {
        throw invalidUrl(issuerUrl, "it has no host");
    }
    if (url.username !== "" || url.password !== "") {
        throw invalidUrl(issuerUrl, "it must not contain a user name or password", host);
    }
    if (url.search !== "" || issuerUrl.includes("?")) {
        throw invalidUrl(issuerUrl, "it must not have a query string (?...)", host);
    }
    if (url.hash !== "" || issuerUrl.includes("#")) {
        throw invalidUrl(issuerUrl, "it must not have a fragment (#...)", host);
    }
    if (issuerUrl.endsWith("/")) {
        throw invalidUrl(issuerUrl, "it must not end with a slash", host);
    }
    const port = url.port === "" ? 443 : Number(url.port);
    return { host, port };
}

function parseCert(der: Buffer, what: string): crypto.X509Certificate {
    try {
        return new crypto.X509Certificate(der);
    } catch (e) {
        throw new Failure("bad-certificate", `the ${what} is not a valid X.509 certificate (${errorText(e)})`);
    }
}

function subjectOf(cert: crypto.X509Certificate): string {
    return JSON.stringify(cert.subject.replace(/\n/g, ", "));
}

/** Checks the presented chain's shape and returns its top (last) certificate; throws Failure("no-ca", ...). */
function checkTopIsCa(chain: readonly crypto.X509Certificate[]): crypto.X509Certificate {
    if (chain.length === 0) {
        throw new Failure("no-ca", "the server presents no certificate at all");
    }
    if (chain.length === 1) {
        throw new Failure(
            "no-ca",
            `the server presents no CA certificate, only its own (leaf) certificate ${subjectOf(chain[0])}; ` +
                "the thumbprint must come from the top CA certificate of the presented chain, never the leaf",
        );
    }
    const top = chain[chain.length - 1];
    if (!top.ca) {
        throw new Failure("no-ca", `the server presents no CA certificate: the top certificate of its chain, ${subjectOf(top)}, is not a CA certificate`);
    }
    return top;
}

/** Pure: SHA-1 (lowercase hex, 40 chars) of the top CA of a presented chain given leaf-first as DER buffers. Throws ThumbprintError("... presents no CA certificate ...") when the chain is only the leaf. */
export function topCaThumbprint(host: string, presentedChainDer: readonly Buffer[]): string {
    try {
        const chain = presentedChainDer.map((der, i) => parseCert(der, i === 0 ? "leaf certificate" : `certificate #${i + 1} of the chain`));
        checkTopIsCa(chain);
    } catch (e) {
        if (e instanceof Failure) {
            throw new ThumbprintError(`Could not compute the OIDC thumbprint of ${host}: ${e.reason}.`, {
                host,
                reason: e.reason,
                kind: e.kind,
            });
        }
        throw e;
    }
    const top = presentedChainDer[presentedChainDer.length - 1];
    return crypto.createHash("sha1").update(top).digest("hex");
}

let defaultTrusted: crypto.X509Certificate[] | undefined;

function trustedCas(pems: readonly string[] | undefined): crypto.X509Certificate[] {
    if (pems === undefined) {
        defaultTrusted ??= tls.rootCertificates.flatMap((pem) => {
            try {
                return [new crypto.X509Certificate(pem)];
            } catch {
                return [];
            }
        });
        return defaultTrusted;
    }
    return pems.map((pem, i) => {
        try {
            return new crypto.X509Certificate(pem);
        } catch (e) {
            throw new Failure("invalid-options", `trustedCaPems[${i}] is not a valid PEM certificate (${errorText(e)})`);
        }
    });
}

function validityProblem(cert: crypto.X509Certificate, what: string, now: Date): Failure | undefined {
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    if (Number.isFinite(to) && now.getTime() > to) {
        return new Failure("expired", `the ${what} ${subjectOf(cert)} expired on ${cert.validTo}`);
    }
    if (Number.isFinite(from) && now.getTime() < from) {
        return new Failure("not-yet-valid", `the ${what} ${subjectOf(cert)} is not valid before ${cert.validFrom}`);
    }
    return undefined;
}

function issuedBy(cert: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
    try {
        return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    } catch {
        return false;
    }
}

function positionName(i: number, n: number): string {
    if (i === 0) return "leaf certificate";
    if (i === n - 1) return "top CA certificate";
    return `intermediate CA certificate #${i}`;
}

/**
 * Verifies a presented chain (leaf first): each certificate is issued by the next one, all are
 * within their validity period, the leaf matches the host, and the chain is anchored in one of the
 * trusted CAs (the top certificate is one of them or is issued by one of them; a lower certificate
 * anchored the same way also counts, which covers a top that is a cross-signed copy of a trusted root:
 * it then carries the trusted root's key, since it verified the signature below it).
 * Throws ThumbprintError; exported for tests and for callers that obtain the chain themselves.
 */
export function verifyPresentedChain(host: string, presentedChainDer: readonly Buffer[], trustedCaPems?: readonly string[], now: Date = new Date()): void {
    try {
        verifyChain(host, presentedChainDer, trustedCas(trustedCaPems), now);
    } catch (e) {
        if (e instanceof Failure) {
            throw new ThumbprintError(`Could not compute the OIDC thumbprint of ${host}: ${e.reason}. ${advice(e.kind)}`, {
                host,
                reason: e.reason,
                kind: e.kind,
            });
        }
        throw e;
    }
}

function verifyChain(host: string, presentedChainDer: readonly Buffer[], trusted: readonly crypto.X509Certificate[], now: Date): void {
    const n = presentedChainDer.length;
    const chain = presentedChainDer.map((der, i) => parseCert(der, positionName(i, n)));
    checkTopIsCa(chain);

    for (let i = 0; i + 1 < n; i++) {
        if (!issuedBy(chain[i], chain[i + 1])) {
            throw new Failure(
                "untrusted",
                `the certificate chain it presents is broken: the ${positionName(i, n)} ${subjectOf(chain[i])} ` +
                    `is not issued by the next certificate ${subjectOf(chain[i + 1])}`,
            );
        }
        if (i > 0 && !chain[i].ca) {
            throw new Failure(
                "untrusted",
                `the certificate chain it presents is invalid: ${subjectOf(chain[i])} signs another certificate but is not a CA certificate`,
            );
        }
    }

    for (let i = 0; i < n; i++) {
        const problem = validityProblem(chain[i], positionName(i, n), now);
        if (problem) throw problem;
    }

    const leaf = chain[0];
    const matches = net.isIP(host) !== 0 ? leaf.checkIP(host) !== undefined : leaf.checkHost(host) !== undefined;
    if (!matches) {
        const names = leaf.subjectAltName ?? `subject ${subjectOf(leaf)}`;
        throw new Failure("host-mismatch", `its certificate does not match the host name ${host} (the certificate is for ${names})`);
    }

    if (trusted.length === 0) {
        throw new Failure("untrusted", "the certificate chain it presents is not trusted: the list of trusted CAs is empty");
    }
    let expiredAnchor: crypto.X509Certificate | undefined;
    const anchoredAt = (cert: crypto.X509Certificate): boolean =>
        trusted.some((ca) => {
            if (ca.raw.equals(cert.raw)) return true;
            if (!issuedBy(cert, ca)) return false;
            if (validityProblem(ca, "", now) === undefined) return true;
            expiredAnchor ??= ca;
            return false;
        });
    for (let i = n - 1; i >= 0; i--) {
        if (anchoredAt(chain[i])) return;
    }
    const top = chain[n - 1];
    if (expiredAnchor) {
        throw new Failure(
            "untrusted",
            `the certificate chain it presents is not trusted: the trusted CA that issued it, ${subjectOf(expiredAnchor)}, ` +
                `is outside its validity period (${expiredAnchor.validFrom} to ${expiredAnchor.validTo})`,
        );
    }
    throw new Failure(
        "untrusted",
        `the certificate chain it presents is not trusted: its top certificate ${subjectOf(top)} ` +
            `(issuer ${JSON.stringify(top.issuer.replace(/\n/g, ", "))}) is neither a trusted CA nor issued by one`,
    );
}

function advice(kind: ThumbprintFailureKind): string {
    switch (kind) {
        case "connection-refused":
        case "timeout":
        case "dns":
        case "network":
            return `Check network access to the issuer, or ${OMIT_ADVICE}.`;
        case "no-ca":
            return "The issuer must send its CA certificate(s) along with its own certificate; fix its TLS configuration, " + `or ${OMIT_ADVICE}.`;
        case "untrusted":
            return (
                "If the issuer uses a private CA, trust that CA (trustedCaPems); if something on the network intercepts TLS, " +
                `run from a network that does not; or ${OMIT_ADVICE}.`
            );
        case "host-mismatch":
            return "Check that the issuer URL names the right host and that no DNS override or interception redirects it, " + `or ${OMIT_ADVICE}.`;
        case "expired":
        case "not-yet-valid":
            return `Check the issuer's certificate (and this machine's clock), or ${OMIT_ADVICE}.`;
        case "bad-certificate":
            return `Check the issuer's TLS configuration, or ${OMIT_ADVICE}.`;
        case "invalid-options":
            return "Fix the thumbprint options.";
        case "invalid-url":
            return "Fix the issuer URL.";
    }
}

function errorText(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}

/** Turns a socket error into a Failure with a short reason. */
function classifyNetworkError(e: unknown, connectHost: string): Failure {
    const err = e as NodeJS.ErrnoException;
    const code = typeof err?.code === "string" ? err.code : undefined;
    switch (code) {
        case "ECONNREFUSED":
            return new Failure("connection-refused", "connection refused (ECONNREFUSED)");
        case "ENOTFOUND":
        case "EAI_AGAIN":
        case "EAI_FAIL":
        case "EAI_NONAME":
        case "EAI_NODATA":
            return new Failure("dns", `DNS lookup of ${connectHost} failed (${code})`);
        case "ETIMEDOUT":
            return new Failure("timeout", "the connection timed out (ETIMEDOUT)");
        case "ECONNRESET":
            return new Failure("network", "the connection was closed before the TLS handshake finished (ECONNRESET)");
        case "EHOSTUNREACH":
        case "ENETUNREACH":
        case "ENETDOWN":
        case "EHOSTDOWN":
            return new Failure("network", `the issuer host is unreachable (${code})`);
        case "EPIPE":
            return new Failure("network", "the connection was closed during the TLS handshake (EPIPE)");
        default:
            return new Failure("network", `the TLS connection failed: ${errorText(e)}${code && !errorText(e).includes(code) ? ` (${code})` : ""}`);
    }
}

/** Walks getPeerCertificate(true) and returns the presented chain leaf-first as DER. */
function chainFromPeer(peer: tls.DetailedPeerCertificate): Buffer[] {
    const chain: Buffer[] = [];
    const seen = new Set<string>();
    let cert: tls.DetailedPeerCertificate | undefined = peer;
    while (cert && cert.raw && cert.raw.length > 0 && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(Buffer.from(cert.raw));
        const next: tls.DetailedPeerCertificate | undefined = cert.issuerCertificate;
        if (!next || next === cert || next.fingerprint256 === cert.fingerprint256) break;
        cert = next;
    }
    return chain;
}

/** One attempt: connect, handshake within timeoutMs, return the presented chain. Always destroys the socket and clears the timer. */
function presentedChainOnce(host: string, connectHost: string, port: number, timeoutMs: number): Promise<Buffer[]> {
    return new Promise<Buffer[]>((resolve, reject) => {
        let settled = false;
        let socket: tls.TLSSocket | undefined;
        const finish = (err: Failure | undefined, chain?: Buffer[]): void => {
            if (settled) return;
            settled = true;
            // Only ever called after `timer` is set: from the timer itself or from socket events.
            clearTimeout(timer);
            // The "error" listener below stays attached, so late errors after destroy are swallowed.
            socket?.destroy();
            if (err) reject(err);
            else resolve(chain ?? []);
        };
        const timer = setTimeout(() => finish(new Failure("timeout", `timeout (no TLS handshake within ${timeoutMs} ms)`)), timeoutMs);
        try {
            socket = tls.connect({
                host: connectHost,
                port,
                // SNI must be a DNS name; Node deprecates IP servernames.
                ...(net.isIP(host) === 0 ? { servername: host } : {}),
                // Empty CA store: getPeerCertificate(true) must not complete the chain from a local store (see header).
                ca: [],
                rejectUnauthorized: false,
            });
        } catch (e) {
            finish(classifyNetworkError(e, connectHost));
            return;
        }
        socket.once("secureConnect", () => {
            try {
                finish(undefined, chainFromPeer(socket!.getPeerCertificate(true)));
            } catch (e) {
                finish(new Failure("network", `could not read the presented certificates: ${errorText(e)}`));
            }
        });
        socket.on("error", (e) => finish(classifyNetworkError(e, connectHost)));
        socket.once("close", () => finish(new Failure("network", "the connection was closed before the TLS handshake finished")));
    });
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function proxyNote(): string {
    const name = ["HTTPS_PROXY", "https_proxy"].find((v) => (process.env[v] ?? "") !== "");
    return name ? ` Note: ${name} is set, but this check makes a direct TLS connection to the issuer and does not go through the proxy.` : "";
}

function positiveInt(value: number | undefined, fallback: number, name: string, min: number): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < min) {
        throw new ThumbprintError(`Invalid thumbprint option ${name}: ${value} (must be a number >= ${min}).`, {
            host: "",
            reason: `invalid option ${name}`,
            kind: "invalid-options",
        });
    }
    return Math.floor(value);
}

/** Connects over TLS with timeout and bounded retry with backoff, verifies the chain, returns topCaThumbprint. */
export async function fetchOidcThumbprint(issuerUrl: string, options: ThumbprintOptions = {}): Promise<string> {
    const parsed = parseIssuerUrl(issuerUrl);
    const host = parsed.host;
    const port = positiveInt(options.port, parsed.port, "port", 1);
    if (port > 65535) {
        throw new ThumbprintError(`Invalid thumbprint option port: ${port} (must be 1-65535).`, {
            host,
            reason: "invalid option port",
            kind: "invalid-options",
        });
    }
    const timeoutMs = positiveInt(options.timeoutMs, 5000, "timeoutMs", 1);
    const attempts = positiveInt(options.attempts, 3, "attempts", 1);
    const retryDelayMs = positiveInt(options.retryDelayMs, 500, "retryDelayMs", 0);
    const connectHost = options.connectHost ?? host;

    let trusted: crypto.X509Certificate[];
    try {
        trusted = trustedCas(options.trustedCaPems);
    } catch (e) {
        if (e instanceof Failure) {
            throw new ThumbprintError(`Could not compute the OIDC thumbprint of ${host}:${port}: ${e.reason}.`, {
                host,
                port,
                reason: e.reason,
                kind: e.kind,
            });
        }
        throw e;
    }

    let made = 0;
    let delay = retryDelayMs;
    for (;;) {
        made++;
        try {
            const chain = await presentedChainOnce(host, connectHost, port, timeoutMs);
            verifyChain(host, chain, trusted, new Date());
            return topCaThumbprint(host, chain);
        } catch (e) {
            if (!(e instanceof Failure)) throw e;
            const retry = RETRYABLE.has(e.kind);
            if (retry && made < attempts) {
                await sleep(delay);
                delay *= 2;
                continue;
            }
            const attemptsText = `${made} attempt${made === 1 ? "" : "s"}`;
            const notRetried = !retry ? " (not retried: retrying cannot fix this)" : "";
            const note = retry ? proxyNote() : "";
            throw new ThumbprintError(
                `Could not compute the OIDC thumbprint of ${host}:${port} after ${attemptsText}${notRetried}: ` + `${e.reason}. ${advice(e.kind)}${note}`,
                { host, port, reason: e.reason, kind: e.kind, attempts: made },
            );
        }
    }
}
