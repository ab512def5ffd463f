/**
 * The consumer's stack: two teams' images in the registry account, pulled by
 * one cluster in another account. In a real program the cluster list comes
 * from the EKS stacks' outputs (see ecrpull's README, "Use it as a library").
 */
import { ClusterSpec } from "ecrpull";
import { TeamsRegistry } from "./teams-registry";

const apps: ClusterSpec = {
    name: "apps-prod",
    accountId: "444455556666",
    issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF",
    nodeRoleArns: ["arn:aws:iam::444455556666:role/apps-prod-nodes"],
};

const registry = new TeamsRegistry("images", {
    registryAccountId: "111122223333",
    region: "eu-west-1",
    clusters: [apps],
    teams: [
        { name: "search", images: ["indexer", "api"], serviceAccounts: ["indexer"] },
        { name: "billing", images: ["invoices"], serviceAccounts: ["invoicer", "reporter"] },
    ],
});

export const repositoryUrls = registry.repositoryUrls;
export const pullRoleArns = registry.pullRoleArns;
