/**
 * A cheap key for gossipsub's duplicate check, computed on the message as it
 * arrives, before its signature is checked.
 *
 * Without it gossipsub verifies the signature of every copy it receives
 * (import of the sender's key, then an ed25519 verify) and only then finds
 * that it has seen the message. With the mesh relaying heartbeats that their
 * sender already flood-published, most copies a node receives are
 * duplicates. gossipsub stores this key only after a copy passed validation,
 * so a forged copy can't poison the cache; and it names the same thing as the
 * message id under StrictSign (sender + sequence number), so it drops no
 * message the full check would have kept.
 */
export interface RawMessage { from?: Uint8Array, seqno?: Uint8Array }

export function fastMsgId (msg: RawMessage): string {
  const from = msg.from
  const seqno = msg.seqno
  if (from === undefined || seqno === undefined) return ''
  return Buffer.from(from.buffer, from.byteOffset, from.byteLength).toString('latin1') + '\u0000' +
    Buffer.from(seqno.buffer, seqno.byteOffset, seqno.byteLength).toString('latin1')
}
