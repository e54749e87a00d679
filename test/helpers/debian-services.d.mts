// Types of debian-services.mjs (shared with bench/real-server.mjs).
export declare const SERVICES: string[];
export declare const CHECK_TOOLS: string[];
export declare function aptCacheDir(): string;
export declare function aptCacheIn(root: string, cache?: string): number;
export declare function aptCacheOut(root: string, cache?: string): { count: number; bytes: number };
export declare function insideArgv(script: string): string[];
export declare const APT_UPDATE: string;
export declare function aptInstall(pkgs?: string[]): string;
export interface ExecResult { code: number; stdout: string; stderr: string }
export declare function installServices(
  root: string,
  exec: (script: string, timeoutMs: number) => Promise<ExecResult>,
  opts?: { log?: (line: string) => void; updateMs?: number; installMs?: number },
): Promise<{ cached: number; updateSec: number; installSec: number }>;
