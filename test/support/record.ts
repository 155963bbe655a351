import { PROTOCOL_VERSION, type NodeRecord } from '../../src/heartbeat/record.js'

/** A valid node record (what a peer says of itself), as tests feed it into a peer table with `table.apply(id, r)`. */
export const record = (over: Partial<NodeRecord> = {}): NodeRecord => ({
  v: PROTOCOL_VERSION, boot: 1_700_000_000_000, seq: 1, ts: Date.now(), name: 'a', expect: 'always-on', iv: 1000, agent: 'meshmon/test',
  labels: {}, addrs: [], machine: null, checks: [], obs: {}, ...over
})
