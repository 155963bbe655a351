/**
 * Serf agents on 127.0.0.1 (Debian package `serf`, LAN profile), the peer
 * system the scale bench runs beside meshmon in the same run: started here,
 * tracked by pid, killed in stop(). Each agent records the members it sees
 * fail through an event handler (a line with the time, in ms), so detection
 * is read from files, not by polling 100 agents.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../test/support/ports.js'
import { waitFor } from '../test/support/wait.js'

export const SERF = '/usr/bin/serf'

export interface SerfAgent { name: string, child: ChildProcess, bind: string, rpc: string, failedFile: string }

export class SerfCluster {
  readonly agents: SerfAgent[] = []
  dir = ''

  static available (): boolean { return existsSync(SERF) }

  async init (): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), 'meshmon-serf-'))
    return this
  }

  async start (name: string): Promise<SerfAgent> {
    const bind = `127.0.0.1:${await freePort()}`
    const rpc = `127.0.0.1:${await freePort()}`
    const failedFile = join(this.dir, `${name}.failed`)
    const handler = join(this.dir, `${name}.sh`)
    // the handler gets the failed members on stdin: "name address role tags" per line
    await writeFile(handler, `#!/bin/sh\nwhile read name rest; do echo "$(date +%s%3N) $name" >> ${failedFile}; done\n`, { mode: 0o755 })
    // the first agent may not listen yet when the next ones start: a plain -join that fails ends the agent
    const join0 = this.agents[0]?.bind
    const args = ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=${rpc}`, '-profile=lan', '-log-level=err', `-event-handler=member-failed=${handler}`, ...(join0 === undefined ? [] : [`-retry-join=${join0}`, '-retry-interval=1s'])]
    const child = spawn(SERF, args, { stdio: 'ignore' })
    const agent = { name, child, bind, rpc, failedFile }
    this.agents.push(agent)
    return agent
  }

  /** Alive members as `agent` sees them. */
  async alive (agent: SerfAgent): Promise<number> {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(SERF, ['members', `-rpc-addr=${agent.rpc}`, '-status=alive'], { stdio: ['ignore', 'pipe', 'ignore'] })
      let text = ''
      p.stdout.on('data', d => { text += String(d) })
      p.on('exit', code => { code === 0 ? resolve(text) : reject(new Error(`serf members exited ${String(code)}`)) })
    })
    return out.split('\n').filter(l => l.trim() !== '').length
  }

  /** When each survivor saw `victim` fail (ms since the epoch), from their event handlers. */
  async failedAt (victim: string, survivors: SerfAgent[], timeoutMs = 60_000): Promise<number[]> {
    return await waitFor(`every Serf agent to see ${victim} fail`, async () => {
      const times: number[] = []
      for (const a of survivors) {
        const text = await readFile(a.failedFile, 'utf8').catch(() => '')
        const line = text.split('\n').find(l => l.endsWith(` ${victim}`))
        if (line === undefined) return false
        times.push(Number(line.split(' ')[0]))
      }
      return times
    }, timeoutMs, 250)
  }

  async stop (): Promise<void> {
    for (const a of this.agents) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL')
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true })
  }
}
