/**
 * What this machine and the pinned stack cost before meshmon does any work:
 * the floors under the issue's targets of 0.3 ms CPU per received heartbeat
 * and 90 MB RSS per node.
 *
 * - RSS of a bare Node process, and of one that has loaded meshmon's code and
 *   its libraries (libp2p, gossipsub, Helia, OrbitDB, prom-client, ...) and
 *   started nothing; both after a full GC.
 * - One ed25519 signature check, as gossipsub does it for every heartbeat
 *   (StrictSign): `publicKey.verify` of @libp2p/crypto on a ~200-byte
 *   message.
 * - One wake-up of an idle Node process (an empty 20 ms interval): a received
 *   heartbeat wakes its node at least once, since peers beat at their own
 *   phases.
 *
 * Each process measured is a child started here (execFile), bounded in time,
 * and killed if it overruns.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { repoRoot } from '../test/support/root.js'

export interface FloorBenchResult {
  /** a Node process that loaded nothing, after a full GC */
  bareNodeRssMB: number
  /** a Node process that loaded meshmon (dist/cli/main.js and dist/node.js, so every library) and started nothing */
  stackLoadedRssMB: number
  stackLoadedHeapUsedMB: number
  /** @libp2p/crypto Ed25519 publicKey.verify of a 200-byte message, warm, mean */
  ed25519VerifyUs: number
  /** CPU of one wake-up of an otherwise idle Node process (setInterval 20 ms, 3 s), mean */
  wakeUs: number
  /** the two above together: what a received heartbeat costs before libp2p reads, decrypts or parses it */
  perMessageFloorMs: number
}

const MB = 2 ** 20
const run = promisify(execFile)

/** Run `node ...args`, return the numbers `keys` of its stdout (JSON); SIGKILLed after `timeoutMs`. */
async function childJson<K extends string> (args: string[], keys: readonly K[], timeoutMs = 30_000): Promise<Record<K, number>> {
  const { stdout } = await run(process.execPath, args, { timeout: timeoutMs, killSignal: 'SIGKILL' })
  const got = JSON.parse(stdout) as Record<string, unknown>
  for (const k of keys) if (typeof got[k] !== 'number') throw new Error(`floor bench child printed no number ${k}: ${stdout.trim()}`)
  return got as Record<K, number>
}

/** script for a child: optionally import modules, then a full GC and its memory as JSON */
function memoryScript (imports: string[]): string {
  return `${imports.map(u => `await import(${JSON.stringify(u)});`).join('')}
await new Promise(r => setTimeout(r, 200)); globalThis.gc(); globalThis.gc()
const m = process.memoryUsage(); console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed }))`
}

const WAKE_SCRIPT = `let n = 0; const c0 = process.cpuUsage(); const t = setInterval(() => { n++ }, 20)
setTimeout(() => { clearInterval(t); const c = process.cpuUsage(c0); console.log(JSON.stringify({ cpuUs: c.user + c.system, wakes: n })) }, 3000)`

async function verifyUs (): Promise<number> {
  const key = await generateKeyPair('Ed25519')
  const data = new Uint8Array(200).map((_, i) => i)
  const sig = await key.sign(data)
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      if (!await key.publicKey.verify(data, sig)) throw new Error('ed25519 verify failed on its own signature')
    }
  }
  await run(500)
  const n = 3000
  const t0 = process.hrtime.bigint()
  await run(n)
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

export async function benchFloor (): Promise<FloorBenchResult> {
  const dist = (p: string): string => pathToFileURL(join(repoRoot(), 'dist', p)).href
  const eval0 = ['--expose-gc', '--input-type=module', '-e']
  const bare = await childJson([...eval0, memoryScript([])], ['rss'])
  const loaded = await childJson([...eval0, memoryScript([dist('shim.js'), dist('cli/main.js'), dist('node.js')])], ['rss', 'heapUsed'])
  const wake = await childJson(['-e', WAKE_SCRIPT], ['cpuUs', 'wakes'])
  const ed = await verifyUs()
  const wakeUs = wake.cpuUs / Math.max(1, wake.wakes)
  return {
    bareNodeRssMB: bare.rss / MB,
    stackLoadedRssMB: loaded.rss / MB,
    stackLoadedHeapUsedMB: loaded.heapUsed / MB,
    ed25519VerifyUs: ed,
    wakeUs,
    perMessageFloorMs: (ed + wakeUs) / 1000
  }
}
