import { expect } from "chai";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";

import { fetchOidcThumbprint, parseIssuerUrl, ThumbprintError, topCaThumbprint, verifyPresentedChain } from "../components/cluster/thumbprint";
import { Issued, makeCert } from "./support/certs";

const HOST = "oidc.test.internal";
const ISSUER = `https://${HOST}/id/ABCDEF0123456789`;
const DAY = 24 * 60 * 60 * 1000;

function sha1(der: Buffer): string {
    return crypto.createHash("sha1").update(der).digest("hex");
}

interface TestServer {
    readonly port: number;
    /** TCP connections accepted so far. */
    connections: number;
    close(): Promise<void>;
}

function listen(server: net.Server, sockets: Set<net.Socket>): Promise<number> {
    server.on("connection", (s: net.Socket) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
    });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
    return () =>
        new Promise<void>((resolve) => {
            for (const s of sockets) s.destroy();
            server.close(() => resolve());
        });
}

/** A TLS server on 127.0.0.1 presenting `chain` (leaf first) with `key`; drops the first `dropFirst` connections. */
async function startTlsServer(chain: readonly Issued[], dropFirst = 0): Promise<TestServer> {
    const sockets = new Set<net.Socket>();
    const server = tls.createServer({ key: chain[0].keyPem, cert: chain.map((c) => c.pem).join("") });
    server.on("tlsClientError", () => undefined);
    const state = { connections: 0 };
    server.on("connection", (s: net.Socket) => {
        state.connections++;
        if (state.connections <= dropFirst) s.destroy();
    });
    const port = await listen(server, sockets);
    return {
        port,
        get connections() {
            return state.connections;
        },
        close: closer(server, sockets),
    } as TestServer;
}

async function rejection(p: Promise<unknown>): Promise<ThumbprintError> {
    try {
        await p;
    } catch (e) {
        expect(e).to.be.instanceOf(ThumbprintError);
        return e as ThumbprintError;
    }
    throw new Error("expected the promise to reject");
}

describe("thumbprint", function () {
    let root: Issued;
    let intermediate: Issued;
    let leaf: Issued;
    let otherRoot: Issued;
    let impostorRoot: Issued;
    let expiredLeaf: Issued;
    const servers: TestServer[] = [];

    before(function () {
        root = makeCert({ cn: "Thumbprint Test Root CA", ca: true });
        intermediate = makeCert({ cn: "Thumbprint Test Intermediate CA", ca: true, issuer: root });
        leaf = makeCert({ cn: HOST, ca: false, issuer: intermediate });
        otherRoot = makeCert({ cn: "Some Other Root CA", ca: true });
        // Same subject as the real root, different key: name-based issuer matching alone would accept it.
        impostorRoot = makeCert({ cn: "Thumbprint Test Root CA", ca: true });
        expiredLeaf = makeCert({
            cn: HOST,
            ca: false,
            issuer: intermediate,
            notBefore: new Date(Date.now() - 400 * DAY),
            notAfter: new Date(Date.now() - 10 * DAY),
        });
    });

    afterEach(async function () {
        await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    async function serve(chain: readonly Issued[], dropFirst = 0): Promise<TestServer> {
        const s = await startTlsServer(chain, dropFirst);
        servers.push(s);
        return s;
    }

    function opts(port: number, extra: object = {}) {
        return {
            connectHost: "127.0.0.1",
            port,
            trustedCaPems: [root.pem],
            timeoutMs: 3000,
            retryDelayMs: 10,
            ...extra,
        };
    }

    describe("fetchOidcThumbprint against local TLS servers", function () {
        it("leaf + intermediate presented: thumbprint is the intermediate's, not the leaf's or root's", async function () {
            const s = await serve([leaf, intermediate]);
            const tp = await fetchOidcThumbprint(ISSUER, opts(s.port));
            expect(tp).to.equal(sha1(intermediate.der));
            expect(tp).to.not.equal(sha1(leaf.der));
            expect(tp).to.not.equal(sha1(root.der));
            expect(tp).to.match(/^[0-9a-f]{40}$/);
            expect(s.connections).to.equal(1);
        });

        it("leaf + intermediate + root presented: thumbprint is the root's", async function () {
            const s = await serve([leaf, intermediate, root]);
            const tp = await fetchOidcThumbprint(ISSUER, opts(s.port));
            expect(tp).to.equal(sha1(root.der));
        });

        it("trusting the intermediate directly also works (top is itself a trusted CA)", async function () {
            const s = await serve([leaf, intermediate]);
            const tp = await fetchOidcThumbprint(ISSUER, opts(s.port, { trustedCaPems: [intermediate.pem] }));
            expect(tp).to.equal(sha1(intermediate.der));
        });

        it("only the leaf presented: no CA certificate, not retried", async function () {
            const s = await serve([leaf]);
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(s.port)));
            expect(err.kind).to.equal("no-ca");
            expect(err.message).to.include(`Could not compute the OIDC thumbprint of ${HOST}:${s.port} after 1 attempt`);
            expect(err.message).to.include("presents no CA certificate, only its own (leaf) certificate");
            expect(err.message).to.include('set ecrpull:oidcThumbprint to "omit"');
            expect(err.host).to.equal(HOST);
            expect(s.connections).to.equal(1);
        });

        it("chain not trusted: clear error after exactly one attempt", async function () {
            const s = await serve([leaf, intermediate]);
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(s.port, { trustedCaPems: [otherRoot.pem] })));
            expect(err.kind).to.equal("untrusted");
            expect(err.message).to.include(`of ${HOST}:${s.port} after 1 attempt (not retried`);
            expect(err.message).to.include("the certificate chain it presents is not trusted");
            expect(err.message).to.include("Thumbprint Test Intermediate CA");
            expect(err.message).to.include("trustedCaPems");
            expect(s.connections).to.equal(1);
        });

        it("chain not trusted when a trusted CA only shares the issuer's name (signature is checked)", async function () {
            const s = await serve([leaf, intermediate]);
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(s.port, { trustedCaPems: [impostorRoot.pem] })));
            expect(err.kind).to.equal("untrusted");
            expect(s.connections).to.equal(1);
        });

        it("by default (Node's bundled roots) a private chain is not trusted", async function () {
            const s = await serve([leaf, intermediate]);
            const err = await rejection(fetchOidcThumbprint(ISSUER, { connectHost: "127.0.0.1", port: s.port, timeoutMs: 3000 }));
            expect(err.kind).to.equal("untrusted");
        });

        it("host mismatch: issuer host differs from the leaf's name, not retried", async function () {
            const s = await serve([leaf, intermediate]);
            const err = await rejection(fetchOidcThumbprint("https://other.test.internal/id/X", opts(s.port)));
            expect(err.kind).to.equal("host-mismatch");
            expect(err.message).to.include(`of other.test.internal:${s.port} after 1 attempt`);
            expect(err.message).to.include("does not match the host name other.test.internal");
            expect(err.message).to.include(`DNS:${HOST}`);
            expect(s.connections).to.equal(1);
        });

        it("expired leaf certificate: says expired, not retried", async function () {
            const s = await serve([expiredLeaf, intermediate]);
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(s.port)));
            expect(err.kind).to.equal("expired");
            expect(err.message).to.match(/the leaf certificate "CN=oidc\.test\.internal.*" expired on /);
            expect(s.connections).to.equal(1);
        });

        it("closed port: connection refused, names host, port and attempts", async function () {
            const probe = net.createServer();
            const port = await listen(probe, new Set());
            await new Promise<void>((r) => probe.close(() => r()));
            const started = Date.now();
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(port, { attempts: 2, timeoutMs: 2000 })));
            expect(Date.now() - started).to.be.below(1500);
            expect(err.kind).to.equal("connection-refused");
            expect(err.attempts).to.equal(2);
            expect(err.message).to.include(
                `Could not compute the OIDC thumbprint of ${HOST}:${port} after 2 attempts: connection refused (ECONNREFUSED). ` +
                    'Check network access to the issuer, or set ecrpull:oidcThumbprint to "omit" ' +
                    "(IAM does not need a thumbprint for issuers whose certificate chains to a CA AWS trusts).",
            );
        });

        it("network failure with HTTPS_PROXY set: says the check does not use the proxy", async function () {
            const probe = net.createServer();
            const port = await listen(probe, new Set());
            await new Promise<void>((r) => probe.close(() => r()));
            const saved = { upper: process.env.HTTPS_PROXY, lower: process.env.https_proxy };
            process.env.HTTPS_PROXY = "http://127.0.0.1:3128";
            try {
                const err = await rejection(fetchOidcThumbprint(ISSUER, opts(port, { attempts: 1 })));
                expect(err.message).to.include("after 1 attempt: connection refused (ECONNREFUSED)");
                expect(err.message).to.match(/HTTPS_PROXY is set, but this check makes a direct TLS connection .* does not go through the proxy/);
            } finally {
                if (saved.upper === undefined) delete process.env.HTTPS_PROXY;
                else process.env.HTTPS_PROXY = saved.upper;
                if (saved.lower === undefined) delete process.env.https_proxy;
                else process.env.https_proxy = saved.lower;
            }
        });

        it("server accepts TCP but never answers: timeout within attempts*timeoutMs + delays", async function () {
            const held = new Set<net.Socket>();
            let accepted = 0;
            const silent = net.createServer(() => {
                accepted++;
            });
            const port = await listen(silent, held);
            try {
                const started = Date.now();
                const err = await rejection(fetchOidcThumbprint(ISSUER, opts(port, { timeoutMs: 300, attempts: 2, retryDelayMs: 10 })));
                const elapsed = Date.now() - started;
                expect(elapsed).to.be.below(2000);
                expect(elapsed).to.be.at.least(550);
                expect(err.kind).to.equal("timeout");
                expect(err.message).to.include(`of ${HOST}:${port} after 2 attempts: timeout (no TLS handshake within 300 ms)`);
                expect(accepted).to.equal(2);
            } finally {
                await closer(silent, held)();
            }
        });

        it("retry succeeds: the first connection is dropped, the second works", async function () {
            const s = await serve([leaf, intermediate], 1);
            const tp = await fetchOidcThumbprint(ISSUER, opts(s.port, { attempts: 3 }));
            expect(tp).to.equal(sha1(intermediate.der));
            expect(s.connections).to.equal(2);
        });

        it("dropped on every attempt: network error after all attempts", async function () {
            const s = await serve([leaf, intermediate], 100);
            const err = await rejection(fetchOidcThumbprint(ISSUER, opts(s.port, { attempts: 3 })));
            expect(err.kind).to.equal("network");
            expect(err.message).to.include("after 3 attempts");
            expect(err.message).to.include("before the TLS handshake finished");
            expect(s.connections).to.equal(3);
        });

        it("bad issuer URL: rejects before connecting", async function () {
            const err = await rejection(fetchOidcThumbprint("http://oidc.test.internal/id/X"));
            expect(err.kind).to.equal("invalid-url");
            expect(err.attempts).to.equal(0);
        });

        it("ca: [] keeps the chain as presented even when NODE_EXTRA_CA_CERTS holds the root", async function () {
            this.timeout(30000);
            const s = await serve([leaf, intermediate]);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "thumbprint-test-"));
            try {
                const rootFile = path.join(dir, "root.pem");
                fs.writeFileSync(rootFile, root.pem);
                const modulePath = path.resolve(__dirname, "../components/cluster/thumbprint.ts");
                // Control: with the default store, Node completes the chain with the root from NODE_EXTRA_CA_CERTS.
                // Then: fetchOidcThumbprint (ca: []) must still report the intermediate.
                const script = `
                    const tls = require("tls");
                    const { fetchOidcThumbprint } = require(${JSON.stringify(modulePath)});
                    const sock = tls.connect({ host: "127.0.0.1", port: ${s.port}, servername: "${HOST}" }, async () => {
                        let c = sock.getPeerCertificate(true), n = 1;
                        while (c.issuerCertificate && c.issuerCertificate !== c) { c = c.issuerCertificate; n++; }
                        const authorized = sock.authorized;
                        sock.destroy();
                        const tp = await fetchOidcThumbprint(${JSON.stringify(ISSUER)}, {
                            connectHost: "127.0.0.1", port: ${s.port}, trustedCaPems: [${JSON.stringify(root.pem)}],
                        });
                        console.log(JSON.stringify({ defaultChainLength: n, authorized, tp }));
                    });
                    sock.on("error", (e) => { console.error(e); process.exit(1); });
                `;
                // Asynchronous on purpose: the TLS server runs in this process and must keep answering.
                const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
                    execFile(
                        process.execPath,
                        ["-r", "ts-node/register/transpile-only", "-e", script],
                        { env: { ...process.env, NODE_EXTRA_CA_CERTS: rootFile }, encoding: "utf8", timeout: 25000 },
                        (error, stdout, stderr) => resolve({ code: error ? ((error.code as number | null) ?? -1) : 0, stdout, stderr }),
                    );
                });
                expect(child.code, child.stderr).to.equal(0);
                const out = JSON.parse(child.stdout.trim().split("\n").pop()!);
                expect(out.authorized).to.equal(true); // the control really had the root in its store
                expect(out.defaultChainLength).to.equal(3); // leaf, intermediate, root (added from the store)
                expect(out.tp).to.equal(sha1(intermediate.der));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("parseIssuerUrl", function () {
        const bad: Array<[string, string, RegExp]> = [
            ["http scheme", "http://oidc.eks.eu-west-1.amazonaws.com/id/ABC", /must use https:\/\/, not http:\/\//],
            ["trailing slash", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/", /must not end with a slash/],
            ["bare host with slash", "https://oidc.example.com/", /must not end with a slash/],
            ["query", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC?x=1", /must not have a query string/],
            ["empty query", "https://oidc.example.com/id?", /must not have a query string/],
            ["fragment", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC#frag", /must not have a fragment/],
            ["empty", "", /it is empty/],
            ["not a URL", "not a url", /is not a valid absolute URL/],
            ["credentials", "https://user:pw@oidc.example.com/id", /must not contain a user name or password/],
            ["whitespace", " https://oidc.example.com/id", /leading or trailing whitespace/],
        ];
        for (const [name, url, pattern] of bad) {
            it(`rejects ${name}`, function () {
                let caught: unknown;
                try {
                    parseIssuerUrl(url);
                } catch (e) {
                    caught = e;
                }
                expect(caught).to.be.instanceOf(ThumbprintError);
                const err = caught as ThumbprintError;
                expect(err.kind).to.equal("invalid-url");
                expect(err.message).to.match(pattern);
                expect(err.message).to.include(`Invalid OIDC issuer URL ${JSON.stringify(url)}`);
            });
        }

        it("accepts an EKS issuer URL", function () {
            expect(parseIssuerUrl("https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789")).to.deep.equal({
                host: "oidc.eks.eu-west-1.amazonaws.com",
                port: 443,
            });
        });

        it("accepts a bare host and an explicit port", function () {
            expect(parseIssuerUrl("https://token.example.com")).to.deep.equal({ host: "token.example.com", port: 443 });
            expect(parseIssuerUrl("https://Token.Example.com:8443/x")).to.deep.equal({
                host: "token.example.com",
                port: 8443,
            });
        });
    });

    describe("topCaThumbprint (pure)", function () {
        it("hashes the last certificate of the presented chain", function () {
            expect(topCaThumbprint(HOST, [leaf.der, intermediate.der])).to.equal(sha1(intermediate.der));
            expect(topCaThumbprint(HOST, [leaf.der, intermediate.der, root.der])).to.equal(sha1(root.der));
        });

        it("rejects a chain that is only the leaf", function () {
            expect(() => topCaThumbprint(HOST, [leaf.der]))
                .to.throw(ThumbprintError)
                .with.property("message")
                .that.includes(`Could not compute the OIDC thumbprint of ${HOST}: the server presents no CA certificate`);
        });

        it("rejects an empty chain, a non-CA top and garbage", function () {
            expect(() => topCaThumbprint(HOST, [])).to.throw(ThumbprintError, /presents no certificate at all/);
            expect(() => topCaThumbprint(HOST, [expiredLeaf.der, leaf.der])).to.throw(
                ThumbprintError,
                /presents no CA certificate: the top certificate of its chain, .* is not a CA certificate/,
            );
            expect(() => topCaThumbprint(HOST, [leaf.der, Buffer.from("junk")])).to.throw(ThumbprintError, /not a valid X\.509 certificate/);
        });
    });

    describe("verifyPresentedChain (pure)", function () {
        it("accepts a good chain", function () {
            verifyPresentedChain(HOST, [leaf.der, intermediate.der], [root.pem]);
            verifyPresentedChain(HOST, [leaf.der, intermediate.der, root.der], [root.pem]);
        });

        it("rejects a broken chain (certificate not issued by the next one)", function () {
            expect(() => verifyPresentedChain(HOST, [leaf.der, otherRoot.der], [otherRoot.pem])).to.throw(
                ThumbprintError,
                /chain it presents is broken: the leaf certificate .* is not issued by the next certificate/,
            );
        });

        it("rejects certificates outside their validity period", function () {
            const later = new Date(Date.now() + 2 * 365 * DAY);
            expect(() => verifyPresentedChain(HOST, [leaf.der, intermediate.der], [root.pem], later)).to.throw(ThumbprintError, /expired on/);
            const earlier = new Date(Date.now() - 30 * DAY);
            expect(() => verifyPresentedChain(HOST, [leaf.der, intermediate.der], [root.pem], earlier)).to.throw(ThumbprintError, /is not valid before/);
        });

        it("rejects an untrusted anchor and an empty trust list", function () {
            expect(() => verifyPresentedChain(HOST, [leaf.der, intermediate.der], [impostorRoot.pem])).to.throw(ThumbprintError, /not trusted/);
            expect(() => verifyPresentedChain(HOST, [leaf.der, intermediate.der], [])).to.throw(ThumbprintError, /list of trusted CAs is empty/);
        });
    });
});
