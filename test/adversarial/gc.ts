/**
 * A full garbage collection in a node process, from outside, through the
 * DevTools protocol (HeapProfiler.collectGarbage): the node runs with
 * `--inspect=127.0.0.1:0`, which prints the address to stderr ("Debugger
 * listening on ws://..."); the test's NodeProc has it in its logs.
 */
import WebSocket from 'ws'
import type { NodeProc } from '../support/cluster.js'

export async function collectGarbage (n: NodeProc): Promise<void> {
  const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(n.logs.join('\n'))?.[1]
  if (url === undefined) throw new Error(`${n.name} has no inspector address in its logs: started without --inspect?`)
  const ws = new WebSocket(url)
  try {
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${n.name}: no answer to collectGarbage in 20 s`)) }, 20_000)
      ws.on('message', (data: Buffer) => { if (JSON.parse(data.toString()).id === 1) { clearTimeout(timer); resolve(undefined) } })
    })
  } finally {
    ws.close()
  }
}
