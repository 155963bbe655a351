/** Run the real `meshmon` binary (built to dist/ by `npm test`). */
import { BIN } from './cluster.js'
import { spawn, type ChildProcess } from 'node:child_process'

export { BIN } from './cluster.js'

export interface CliResult { code: number | null, stdout: string, stderr: string }

export async function meshmon (args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  return await collect(child, options.timeoutMs ?? 30_000)
}

export async function collect (child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', d => { stdout += d })
  child.stderr?.on('data', d => { stderr += d })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  const code = await new Promise<number | null>(resolve => child.on('close', c => { resolve(c) }))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
