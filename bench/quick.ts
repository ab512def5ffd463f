import { runEcrStack } from "../scripts/two-stacks";
import { CONTRACT_VERSION } from "../components/contract";
import { clusterArn } from "../components/names";
const C = Number(process.argv[2] ?? 100), T = Number(process.argv[3] ?? 50), R = Number(process.argv[4] ?? 10);
const refs: Record<string, any> = {};
const stacks: string[] = [];
for (let c = 0; c < C; c++) {
  const name = `acme/ecrpull/eks-${c}`; stacks.push(name);
  const acct = String(200000000000 + c);
  refs[name] = { contractVersion: CONTRACT_VERSION, oidcIssuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(c).padStart(32, "0")}`, oidcThumbprint: "", accountId: acct, region: "eu-west-1", clusterName: `c${c}`, clusterArn: clusterArn("aws", "eu-west-1", acct, `c${c}`), nodeRoleArns: [`arn:aws:iam::${acct}:role/nodes`], workloads: [] };
}
const repos = [], grants = [];
for (let t = 0; t < T; t++) {
  const rs = Array.from({ length: R }, (_, i) => `team-${t}/app-${i}`);
  repos.push(...rs.map((name) => ({ name })));
  grants.push({ name: `team-${t}`, clusters: [stacks[t % C]], serviceAccounts: [{ namespace: `team-${t}`, name: "puller" }], repositories: rs });
}
(async () => {
  const t0 = Date.now();
  try {
    const run = await runEcrStack({ accountId: "111122223333", region: "eu-west-1", config: { "ecrpull:clusterStacks": stacks, "ecrpull:repositories": repos, "ecrpull:grants": grants } }, refs);
    console.log("resources", run.resources.length, "ms", Date.now() - t0, "rss MB", Math.round(process.memoryUsage().rss / 1e6));
  } catch (e) { console.log("ms", Date.now() - t0, String(e).slice(0, 400)); }
})();
