/**
 * Certificates for the tests' own TLS servers on 127.0.0.1 (the thumbprint
 * fetch, the doctor's OIDC issuer): a CA and the certificates it issues, made
 * with node-forge from keys Node's native generator makes (fast).
 */
import * as crypto from "crypto";
import * as forge from "node-forge";

const DAY = 24 * 60 * 60 * 1000;

export interface Issued {
    readonly pem: string;
    readonly der: Buffer;
    readonly keyPem: string;
    readonly cert: forge.pki.Certificate;
    readonly key: forge.pki.rsa.PrivateKey;
}

export interface CertOptions {
    readonly cn: string;
    readonly ca: boolean;
    /** The issuing CA; self-signed when absent. */
    readonly issuer?: Issued;
    /** A server certificate's DNS name (default: cn), unless ipAddress is given. */
    readonly dnsName?: string;
    /** A server certificate's IP address SAN instead of a DNS name. */
    readonly ipAddress?: string;
    readonly notBefore?: Date;
    readonly notAfter?: Date;
    readonly organization?: string;
}

let serial = 1;

/** RSA 2048 key made by Node's native generator, converted for node-forge. */
function newKey(): { pub: forge.pki.rsa.PublicKey; priv: forge.pki.rsa.PrivateKey; privPem: string } {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pubPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const privPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
        pub: forge.pki.publicKeyFromPem(pubPem) as forge.pki.rsa.PublicKey,
        priv: forge.pki.privateKeyFromPem(privPem) as forge.pki.rsa.PrivateKey,
        privPem,
    };
}

export function makeCert(opts: CertOptions): Issued {
    const keys = newKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.pub;
    cert.serialNumber = (serial++).toString(16).padStart(2, "0");
    cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
    cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 365 * DAY);
    const subject = [
        { name: "commonName", value: opts.cn },
        { name: "organizationName", value: opts.organization ?? "ecrpull tests" },
    ];
    cert.setSubject(subject);
    cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : subject);
    const extensions: object[] = [
        { name: "basicConstraints", cA: opts.ca, critical: true },
        opts.ca
            ? { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }
            : { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "subjectKeyIdentifier" },
    ];
    if (!opts.ca) {
        extensions.push({ name: "extKeyUsage", serverAuth: true });
        extensions.push({ name: "subjectAltName", altNames: [opts.ipAddress ? { type: 7, ip: opts.ipAddress } : { type: 2, value: opts.dnsName ?? opts.cn }] });
    }
    cert.setExtensions(extensions);
    cert.sign(opts.issuer ? opts.issuer.key : keys.priv, forge.md.sha256.create());
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary");
    return { pem: forge.pki.certificateToPem(cert), der, keyPem: keys.privPem, cert, key: keys.priv };
}
