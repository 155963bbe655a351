/** External programs the tests start: tracked by pid, killed only by us. */
import { spawn, type ChildProcess } from 'node:child_process'

export class Procs {
  readonly #children: ChildProcess[] = []
  readonly logs = new Map<ChildProcess, string[]>()

  start (cmd: string, args: string[]): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const log: string[] = []
    this.logs.set(child, log)
    child.stdout?.on('data', d => log.push(String(d)))
    child.stderr?.on('data', d => log.push(String(d)))
    this.#children.push(child)
    return child
  }

  async stop (child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    const done = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await done
  }

  async stopAll (): Promise<void> {
    for (const c of this.#children) await this.stop(c)
  }
}
