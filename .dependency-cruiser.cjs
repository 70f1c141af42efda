/**
 * Import boundaries of AOS (docs: ../shared/docs/architecture.md, "Import rules").
 * `npm run boundaries` fails on any violation; test/boundaries.test.ts proves each rule fires.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-not-transport",
      comment:
        "core/ is the product and knows nothing of Lambda: no functions/, stacks/, local/, cli/, middy or aws-lambda",
      severity: "error",
      from: { path: "^core/" },
      to: {
        path: [
          "^functions/",
          "^stacks/",
          "^local/",
          "^cli/",
          "node_modules/@middy/",
          "node_modules/@types/aws-lambda",
          "^aws-lambda$",
          "node_modules/aws-lambda/",
        ],
      },
    },
    {
      name: "domain-through-index",
      comment: "a domain reaches another domain only through its index.ts",
      severity: "error",
      from: { path: "^core/(?!platform/)([^/]+)/" },
      to: { path: "^core/(?!platform/)([^/]+)/(?!index\\.ts$)", pathNot: "^core/$1/" },
    },
    {
      name: "handlers-not-each-other",
      comment: "a handler never imports another handler",
      severity: "error",
      from: { path: "^functions/(http|queue|cron)/" },
      to: { path: "^functions/(http|queue|cron)/" },
    },
    {
      name: "handlers-through-domain-index",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^core/(?!platform/)([^/]+)/(?!index\\.ts$)" },
    },
    {
      name: "stacks-only-routes",
      comment: "stacks/ imports only the route table (functions/routes.ts, functions/routes/) and other stack files",
      severity: "error",
      from: { path: "^stacks/" },
      to: { path: "^(core|local|cli|test)/|^functions/(?!routes\\.ts$|routes/[^/]+\\.ts$)" },
    },
    {
      name: "routes-are-data",
      comment: "the route table (functions/routes.ts and its per-domain files) imports nothing but itself",
      severity: "error",
      from: { path: "^functions/routes(\\.ts$|/)" },
      to: { pathNot: "^functions/routes(\\.ts$|/)" },
    },
    {
      name: "nothing-imports-test",
      severity: "error",
      from: { path: "^(core|functions|stacks|local|cli|bench)/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^core/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
