import type { Heartbeat } from '../../src/heartbeat/wire.js'

export const beat = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  v: 1, k: 'hb', boot: 1_700_000_000_000, seq: 1, ts: Date.now(), name: 'a', expect: 'always-on', iv: 1000, agent: 'meshmon/test', seen: {}, ...over
})
