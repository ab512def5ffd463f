/**
 * The organization-scope SCP (components/iam/org-scp.ts) and the file users
 * attach (policy/ecrpull-org-scope.scp.json): its shape, checked against the
 * function and AWS's SCP rules, then its effect, asked of
 * @cloud-copilot/iam-simulate (adapter: tests/support/simulate.ts) with the
 * SCP attached at the organization root next to AWS's default FullAWSAccess.
 *
 * Every request is asked three ways: with the SCP, without it (the request is
 * then allowed, so a denial shows the SCP is what denies) and, for the
 * requests it must let through, under a blanket-deny SCP (which denies them,
 * so an allowance is not the simulator ignoring SCPs).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    DEFAULT_DEPLOYER_ROLE_PATTERN,
    orgScopeServiceControlPolicy,
    PROTECTED_TAG_KEY_PATTERNS,
    SCP_MAX_SIZE,
    serviceControlPolicyFileText,
} from "../components/iam/org-scp";
import { NODE_PULL_TAG_PREFIX, nodePullTagKey, ORG_ROLE_PATH_PREFIX, orgRolePath } from "../components/iam/org-scope";
import { PolicyDocument, serializePolicy } from "../components/iam/policies";
import { wildcardMatches } from "../components/iam/wildcards";
import { AccountActionRequest, FULL_AWS_ACCESS, IamSimulator, NamedPolicy, OrgLevel, RoleSessionRequest, validatePolicy } from "./support/simulate";

const ROOT = path.resolve(__dirname, "..");
const SCP_FILE = path.join(ROOT, "policy", "ecrpull-org-scope.scp.json");

describe("the organization-scope service control policy", function () {
    this.timeout(60000);

    describe("its document", () => {
        const document = orgScopeServiceControlPolicy([DEFAULT_DEPLOYER_ROLE_PATTERN]);
        const text = serviceControlPolicyFileText(document);

        it("is the committed file policy/ecrpull-org-scope.scp.json, byte for byte", () => {
            expect(fs.readFileSync(SCP_FILE, "utf8")).to.equal(text);
            expect(text).to.match(/^\{\n {2}"Version": "2012-10-17",\n/);
            expect(text.endsWith("}\n")).to.equal(true);
        });

        it("fits in an SCP: under 5,120 characters with its white space, no Principal, Deny statements with distinct alphanumeric Sids", () => {
            // Organizations counts every character of an SCP, white space included ("SCP syntax").
            expect(text.length).to.be.lessThan(SCP_MAX_SIZE);
            expect(SCP_MAX_SIZE).to.equal(5120);
            expect(validatePolicy("scp", text)).to.deep.equal([]);
            const parsed = JSON.parse(text);
            const sids = parsed.Statement.map((s: any) => s.Sid);
            expect(new Set(sids).size).to.equal(sids.length);
            for (const statement of parsed.Statement) {
                expect(statement.Sid).to.match(/^[A-Za-z0-9]+$/);
                expect(statement.Effect).to.equal("Deny");
                expect(statement).not.to.have.any.keys("Principal", "NotPrincipal", "NotAction", "NotResource");
                expect(statement.Condition.ArnNotLike["aws:PrincipalArn"]).to.equal(DEFAULT_DEPLOYER_ROLE_PATTERN);
            }
            // The validator does refuse what an SCP may not hold.
            const withPrincipal = JSON.parse(text);
            withPrincipal.Statement[0].Principal = { AWS: "*" };
            expect(validatePolicy("scp", JSON.stringify(withPrincipal))).not.to.deep.equal([]);
        });

        it("is as large as docs/organization-scope.md says", () => {
            const stated = /The file is ([\d,]+) characters/.exec(fs.readFileSync(path.join(ROOT, "docs", "organization-scope.md"), "utf8"));
            expect(stated, "the page states the file's size").not.to.equal(null);
            expect(Number(stated![1].replace(/,/g, ""))).to.equal(text.length);
        });

        it("refuses a deployer list that would not fit: 18 patterns of 58 characters fit pretty-printed, 20 only minified, 30 not at all", () => {
            const many = (n: number) => Array.from({ length: n }, (_, i) => `arn:aws:iam::${String(100000000000 + i)}:role/platform/ecrpull-deployer-${i}`);
            expect(serviceControlPolicyFileText(orgScopeServiceControlPolicy(many(18))).length).to.be.at.most(SCP_MAX_SIZE);
            expect(serializePolicy(orgScopeServiceControlPolicy(many(20))).length).to.be.at.most(SCP_MAX_SIZE);
            expect(() => serviceControlPolicyFileText(orgScopeServiceControlPolicy(many(20)))).to.throw(/upload its minified form/);
            expect(() => orgScopeServiceControlPolicy(many(30))).to.throw(/an SCP holds at most 5120/);
        });

        it("is canonical: condition operators written in sorted order, whatever order they are given in", () => {
            const statement = (condition: PolicyDocument["Statement"][number]["Condition"]): PolicyDocument => ({
                Version: "2012-10-17",
                Statement: [{ Sid: "S", Effect: "Deny", Action: ["iam:TagRole"], Resource: ["*"], Condition: condition }],
            });
            const forward = serializePolicy(
                statement({ ArnNotLike: { "aws:PrincipalArn": ["arn:aws:iam::*:role/d"] }, "ForAnyValue:StringLike": { "aws:TagKeys": ["b/*", "a/*"] } }),
            );
            const backward = serializePolicy(
                statement({ "ForAnyValue:StringLike": { "aws:TagKeys": ["a/*", "b/*"] }, ArnNotLike: { "aws:PrincipalArn": ["arn:aws:iam::*:role/d"] } }),
            );
            expect(backward).to.equal(forward);
            expect(Object.keys(JSON.parse(forward).Statement[0].Condition)).to.deep.equal(["ArnNotLike", "ForAnyValue:StringLike"]);
            expect(JSON.parse(forward).Statement[0].Condition["ForAnyValue:StringLike"]["aws:TagKeys"]).to.deep.equal(["a/*", "b/*"]);
        });

        it("writes its partition into the resources, and refuses deployer patterns of another", () => {
            const cn = serializePolicy(orgScopeServiceControlPolicy(["arn:aws-cn:iam::*:role/ecrpull-deployer"], "aws-cn"));
            expect(cn).to.include('"arn:aws-cn:iam::*:role/ecrpull/*"');
            expect(cn).not.to.include("arn:aws:");
            expect(() => orgScopeServiceControlPolicy([DEFAULT_DEPLOYER_ROLE_PATTERN], "aws-cn")).to.throw(/partition "aws".*partition "aws-cn"/);
        });

        it("refuses no deployer, patterns that are not role ARN patterns, and patterns that would exempt the roles it protects", () => {
            expect(() => orgScopeServiceControlPolicy([])).to.throw(/at least one deployer role ARN pattern/);
            for (const bad of [
                "ecrpull-deployer",
                "arn:aws:iam::*:user/ecrpull-deployer",
                "arn:aws:iam::123:role/ecrpull-deployer",
                "arn:aws:sts::*:assumed-role/ecrpull-deployer/x",
                "arn:aws:iam::*:role/",
                "arn:aws:iam::*:role//x",
                "arn:aws:iam::*:role/x/",
                "arn:aws:iam::*:role/bad name",
            ]) {
                expect(() => orgScopeServiceControlPolicy([bad]), bad).to.throw(/is not an IAM role ARN pattern/);
            }
            for (const everyone of ["arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/*/*"]) {
                expect(() => orgScopeServiceControlPolicy([everyone]), everyone).to.throw(/matches every role/);
            }
            for (const overlapping of ["arn:aws:iam::*:role/ecrpull/deployer", "arn:aws:iam::*:role/*-deployer", "arn:aws:iam::*:role/e?rpull/*/x"]) {
                expect(() => orgScopeServiceControlPolicy([overlapping]), overlapping).to.throw(/may match a role under \/ecrpull\//);
            }
            // Near misses are fine: another path, a name that starts like the path.
            for (const fine of [
                "arn:aws:iam::*:role/ecrpull-deployer",
                "arn:aws:iam::*:role/platform/ecrpull-*",
                "arn:aws:iam::123456789012:role/ecrpullx/d",
            ]) {
                expect(() => orgScopeServiceControlPolicy([fine]), fine).not.to.throw();
            }
        });

        it("names the conventions the trusts and repository policies use", () => {
            expect(ORG_ROLE_PATH_PREFIX).to.equal("/ecrpull/");
            expect(orgRolePath("team-a")).to.equal("/ecrpull/team-a/");
            expect(NODE_PULL_TAG_PREFIX).to.equal("ecrpull.dev/node-pull/");
            expect(nodePullTagKey("team-a")).to.equal("ecrpull.dev/node-pull/team-a");
            for (const bad of ["Team-A", "team/a", "", "-a", "a*"]) {
                expect(() => orgRolePath(bad), bad).to.throw(/not a grant name/);
                expect(() => nodePullTagKey(bad), bad).to.throw(/not a grant name/);
            }
        });

        it("protects the node-pull key in every letter case (policies find a principal's tag key whatever its case)", () => {
            const protectedKey = (key: string) => PROTECTED_TAG_KEY_PATTERNS.some((p) => wildcardMatches(p, key));
            for (const key of ["ecrpull.dev/node-pull/team-a", "ECRPULL.DEV/NODE-PULL/team-a", "Ecrpull.Dev/Node-Pull/x", "ecrpull.dev/anything"]) {
                expect(protectedKey(key), key).to.equal(true);
            }
            for (const key of ["team", "cost-center", "kubernetes.io/cluster/apps", "ecrpull.devx/node-pull/a", "ECRPULL.DEV/owner"]) {
                expect(protectedKey(key), key).to.equal(false);
            }
        });
    });

    describe("its effect, with iam-simulate", () => {
        const member = "111122223333";
        const admin = `arn:aws:iam::${member}:role/admin`;
        const deployer = `arn:aws:iam::${member}:role/ecrpull-deployer`;
        const nodeRole = `arn:aws:iam::${member}:role/apps-nodes`;
        const pathRole = `arn:aws:iam::${member}:role/ecrpull/team-a/x`;
        const administratorAccess: NamedPolicy = {
            name: "AdministratorAccess",
            json: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
        };
        const scpText = fs.readFileSync(SCP_FILE, "utf8");
        const levels = (...policies: NamedPolicy[]): OrgLevel[] => [
            { orgIdentifier: "r-root", policies: [FULL_AWS_ACCESS, ...policies] },
            { orgIdentifier: member, policies: [FULL_AWS_ACCESS] },
        ];
        const WITH_SCP = levels({ name: "ecrpull-org-scope", json: scpText });
        const WITHOUT_SCP = levels();
        const BLANKET_DENY = levels({
            name: "DenyAll",
            json: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }),
        });
        const scpWithout = (change: (doc: any) => void): OrgLevel[] => {
            const doc = JSON.parse(scpText);
            change(doc);
            return levels({ name: "ecrpull-org-scope-mutated", json: JSON.stringify(doc) });
        };

        // A role of the same account whose trust lets the account's roles assume it with session tags.
        const tagTarget = `arn:aws:iam::${member}:role/any-target`;
        const tagTargetTrust = JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { AWS: [admin, deployer] }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
        });

        type Ask = {
            name: string;
            account?: Omit<AccountActionRequest, "principalRoleArn" | "identityPolicies">;
            session?: Omit<RoleSessionRequest, "principalRoleArn" | "identityPolicies">;
        };
        const simulator = new IamSimulator();
        const ask = async (request: Ask, principalRoleArn: string, serviceControlPolicies: OrgLevel[]): Promise<boolean> => {
            const common = { principalRoleArn, identityPolicies: [administratorAccess], serviceControlPolicies };
            return request.account ? simulator.accountAction({ ...request.account, ...common }) : simulator.roleSession({ ...request.session!, ...common });
        };

        const nodePullTag = { [nodePullTagKey("team-a")]: "true" };
        const denied: Ask[] = [
            { name: "iam:CreateRole of a role at /ecrpull/team-a/", account: { action: "iam:CreateRole", resourceArn: pathRole } },
            { name: "iam:UpdateAssumeRolePolicy of a role at /ecrpull/team-a/", account: { action: "iam:UpdateAssumeRolePolicy", resourceArn: pathRole } },
            { name: "iam:TagRole of a node role with the node-pull key", account: { action: "iam:TagRole", resourceArn: nodeRole, requestTags: nodePullTag } },
            {
                name: "iam:TagRole with the node-pull key in capitals",
                account: { action: "iam:TagRole", resourceArn: nodeRole, requestTags: { "ECRPULL.DEV/Node-Pull/team-a": "true" } },
            },
            {
                name: "iam:CreateRole of a role at another path carrying the node-pull key",
                account: { action: "iam:CreateRole", resourceArn: `arn:aws:iam::${member}:role/teams/new-nodes`, requestTags: { team: "a", ...nodePullTag } },
            },
            {
                name: "iam:UntagRole of the node-pull key",
                account: { action: "iam:UntagRole", resourceArn: nodeRole, removedTagKeys: [nodePullTagKey("team-a")] },
            },
            {
                name: "iam:TagUser with the node-pull key (aws:PrincipalTag reads users' tags)",
                account: { action: "iam:TagUser", resourceArn: `arn:aws:iam::${member}:user/ci`, requestTags: nodePullTag },
            },
            {
                name: "sts:TagSession passing the node-pull key as a session tag",
                session: { action: "sts:TagSession", roleArn: tagTarget, trustPolicy: tagTargetTrust, sessionTags: nodePullTag },
            },
            { name: "iam:CreateRole of a role named like the deployer", account: { action: "iam:CreateRole", resourceArn: deployer } },
            { name: "iam:UpdateAssumeRolePolicy of the deployer role", account: { action: "iam:UpdateAssumeRolePolicy", resourceArn: deployer } },
        ];
        const unrelated: Ask[] = [
            { name: "iam:CreateRole at path / without tags", account: { action: "iam:CreateRole", resourceArn: `arn:aws:iam::${member}:role/app` } },
            {
                name: "iam:CreateRole at a path that only starts like /ecrpull/, with other tags",
                account: { action: "iam:CreateRole", resourceArn: `arn:aws:iam::${member}:role/ecrpull-tools/app`, requestTags: { team: "payments" } },
            },
            {
                name: "iam:TagRole of a node role with other keys",
                account: { action: "iam:TagRole", resourceArn: nodeRole, requestTags: { "cost-center": "42", "kubernetes.io/cluster/apps": "owned" } },
            },
            { name: "iam:UntagRole of another key", account: { action: "iam:UntagRole", resourceArn: nodeRole, removedTagKeys: ["cost-center"] } },
            {
                name: "iam:PutRolePolicy on a role at /ecrpull/ (what it may do, not who may be it)",
                account: { action: "iam:PutRolePolicy", resourceArn: pathRole },
            },
            { name: "iam:DeleteRole of a node role", account: { action: "iam:DeleteRole", resourceArn: nodeRole } },
            {
                name: "sts:TagSession with other session tags",
                session: { action: "sts:TagSession", roleArn: tagTarget, trustPolicy: tagTargetTrust, sessionTags: { team: "a" } },
            },
        ];

        for (const request of denied) {
            it(`denies a non-deployer admin ${request.name}; allows it without the SCP, and to the deployer`, async () => {
                expect(await ask(request, admin, WITHOUT_SCP), "without the SCP").to.equal(true);
                expect(await ask(request, admin, WITH_SCP), "non-deployer, with the SCP").to.equal(false);
                expect(await ask(request, deployer, WITH_SCP), "deployer, with the SCP").to.equal(true);
            });
        }

        for (const request of unrelated) {
            it(`allows a non-deployer admin ${request.name} (no blanket deny)`, async () => {
                expect(await ask(request, admin, WITH_SCP), "with the SCP").to.equal(true);
                expect(await ask(request, admin, BLANKET_DENY), "a blanket-deny SCP would refuse it").to.equal(false);
            });
        }

        it("exempts exactly the deployer pattern: a role of that name at another path is not exempt", async () => {
            const lookalike = `arn:aws:iam::${member}:role/teams/ecrpull-deployer`;
            expect(await ask(denied[0], lookalike, WITH_SCP)).to.equal(false);
            expect(await ask(denied[2], lookalike, WITH_SCP)).to.equal(false);
        });

        it("fails when the SCP loses its exemption, its tag statement or its path statement (mutations of the file's document)", async () => {
            const noExemption = scpWithout((doc) => doc.Statement.forEach((s: any) => delete s.Condition.ArnNotLike));
            expect(await ask(denied[0], deployer, noExemption), "deployer, no exemption").to.equal(false);
            const noTags = scpWithout((doc) => (doc.Statement = doc.Statement.filter((s: any) => s.Sid !== "DenyEcrpullTagChanges")));
            expect(await ask(denied[2], admin, noTags), "tag statement removed").to.equal(true);
            const noPath = scpWithout((doc) => (doc.Statement = doc.Statement.filter((s: any) => s.Sid !== "DenyTrustedRoleChanges")));
            expect(await ask(denied[0], admin, noPath), "path statement removed").to.equal(true);
            const lowerCaseOnly = scpWithout((doc) =>
                doc.Statement.filter((s: any) => s.Sid === "DenyEcrpullTagChanges").forEach(
                    (s: any) => (s.Condition["ForAnyValue:StringLike"]["aws:TagKeys"] = "ecrpull.dev/*"),
                ),
            );
            expect(await ask(denied[3], admin, lowerCaseOnly), "capitals slip past ecrpull.dev/* alone").to.equal(true);
        });

        it("needs an Allow at every level, as AWS does: the SCP without FullAWSAccess denies everything", async () => {
            const alone: OrgLevel[] = [{ orgIdentifier: "r-root", policies: [{ name: "ecrpull-org-scope", json: scpText }] }];
            expect(await ask(unrelated[0], admin, alone)).to.equal(false);
            expect(await ask(unrelated[0], deployer, alone)).to.equal(false);
        });
    });
});
