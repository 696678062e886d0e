// Packs the package, installs the tarball into an empty project (with TypeScript only), and type-checks sample/app.ts
// there: what an app maker gets from `npm install` is complete and typed.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const dir = mkdtempSync(join(tmpdir(), "smartapp-sample-"));
try {
  execFileSync(npm, ["pack", "--pack-destination", dir], { stdio: "pipe" });
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "sample", private: true, type: "module" }));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM", "DOM.Iterable"], strict: true, noEmit: true, types: [] },
    include: ["app.ts"],
  }));
  copyFileSync(resolve("sample/app.ts"), join(dir, "app.ts"));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", join(dir, tarball), "typescript@5.9.3"], { cwd: dir, stdio: "pipe" });
  execFileSync(process.execPath, [join(dir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: dir, stdio: "inherit" });
  console.log(`${tarball} installs into an empty project and sample/app.ts type-checks against it`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
