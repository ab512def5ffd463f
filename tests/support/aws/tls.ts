/**
 * The endpoint's TLS identity: a CA made for the test run and one server
 * certificate whose names cover every AWS host the clients resolve to the
 * endpoint (clients check the name against the SNI/host they dialled).
 */
import * as crypto from "crypto";
import * as forge from "node-forge";
import { makeCert } from "../certs";

export interface EndpointTls {
    readonly caPem: string;
    readonly certPem: string;
    readonly keyPem: string;
}

export function makeEndpointTls(dnsNames: readonly string[]): EndpointTls {
    const ca = makeCert({ cn: "ecrpull real-clients test CA", ca: true });
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());
    cert.serialNumber = crypto
        .randomBytes(8)
        .toString("hex")
        .replace(/^[89a-f]/, "1");
    cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
    cert.validity.notAfter = new Date(Date.now() + 30 * 24 * 3600 * 1000);
    cert.setSubject([{ name: "commonName", value: dnsNames[0] }]);
    cert.setIssuer(ca.cert.subject.attributes);
    cert.setExtensions([
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [...dnsNames.map((value) => ({ type: 2, value })), { type: 7, ip: "127.0.0.1" }] },
    ]);
    cert.sign(ca.key, forge.md.sha256.create());
    return {
        caPem: ca.pem,
        certPem: forge.pki.certificateToPem(cert),
        keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
}
