import { createServer } from 'node:net'

/** Whether `port` can be bound on 127.0.0.1 now; the port of the bound socket (0 picks one). */
async function tryBind (port: number): Promise<number | undefined> {
  return await new Promise(resolve => {
    const s = createServer()
    s.once('error', () => { resolve(undefined) })
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port
      s.close(() => { resolve(bound) })
    })
  })
}

const given = new Set<number>()

/**
 * A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768-60999):
 * a port from that range, free when picked, was taken by one of the many
 * outbound connections of a 30-node mesh before its node could listen on it
 * (seen: "a listen address is already in use"). Falls back to one the OS picks.
 */
export async function freePort (): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const pick = 20_000 + Math.floor(Math.random() * 12_000)
    // two starts at once may draw the same number before either listens
    if (given.has(pick)) continue
    const port = await tryBind(pick)
    if (port !== undefined) { given.add(port); return port }
  }
  const port = await tryBind(0)
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1')
  return port
}
