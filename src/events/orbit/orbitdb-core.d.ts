/**
 * The part of @orbitdb/core 3.0.2 (plain JS, no types) that the event log
 * uses, read from node_modules/@orbitdb/core/src.
 */
declare module '@orbitdb/core' {
  import type { EventEmitter } from 'node:events'

  /** put/get/del/iterator/merge/clear/close: the one storage interface every OrbitDB store composes */
  export interface Storage {
    put: (key: string, value: any) => Promise<void>
    get: (key: string) => Promise<any>
    del: (key: string) => Promise<void>
    iterator: (options?: { amount?: number, reverse?: boolean }) => AsyncIterable<[string, any]>
    merge: (other: Storage) => Promise<void>
    clear: () => Promise<void>
    close: () => Promise<void>
    persist?: (key: string) => Promise<void>
  }

  export interface LogEntry<T = unknown> {
    id: string
    hash: string
    payload: { op: string, key: string | null, value: T }
    next: string[]
    refs: string[]
    clock: { id: string, time: number }
    v: number
  }

  export interface Log {
    id: string
    get: (hash: string) => Promise<LogEntry | undefined>
    has: (hash: string) => Promise<boolean>
    heads: () => Promise<LogEntry[]>
    /** verify an entry (and fetch its missing ancestors), add it to the log; false if it was there */
    joinEntry: (entry: LogEntry) => Promise<boolean>
  }

  export interface EventsDatabase {
    address: string
    name: string
    /** 'update' (entry), 'join' (peerId, heads), 'leave' (peerId), 'error' (err), 'close', 'drop' */
    events: EventEmitter
    log: Log
    peers: Set<string>
    add: (value: unknown) => Promise<string>
    /** heads exchange with peers; started by open() unless `sync: false` */
    sync: { start: () => Promise<void> }
    close: () => Promise<void>
    drop: () => Promise<void>
  }

  export type AccessControllerFactory = (...args: any[]) => Promise<unknown>

  export interface OpenOptions {
    type?: 'events'
    AccessController?: AccessControllerFactory
    headsStorage?: Storage
    entryStorage?: Storage
    indexStorage?: Storage
    referencesCount?: number
    sync?: boolean
  }

  export interface OrbitDB {
    id: string
    open: (address: string, options?: OpenOptions) => Promise<EventsDatabase>
    stop: () => Promise<void>
  }

  export interface KeyStoreInstance { close: () => Promise<void> }
  /** (signature hex, public key hex, signed bytes) */
  export type VerifyFn = (signature: string, publicKey: string, data: Uint8Array | string) => Promise<boolean>
  export interface Identity {
    id: string
    publicKey: string
    hash: string
    verify: VerifyFn
    /** signs with the identity's key from the keystore: (itself, data) -> signature hex */
    sign: (identity: Identity, data: Uint8Array | string) => Promise<string>
  }
  export interface IdentitiesInstance {
    keystore: KeyStoreInstance
    createIdentity: (params: { id: string }) => Promise<Identity>
    verify: VerifyFn
  }

  /** dag-cbor bytes and hash of an entry, as OrbitDB stores it (no encryption here) */
  export const Entry: { encode: (entry: LogEntry) => Promise<{ hash: string, bytes: Uint8Array }> }

  export function createOrbitDB (params: { ipfs: unknown, id?: string, directory?: string, identities?: IdentitiesInstance, identity?: Identity }): Promise<OrbitDB>
  export function KeyStore (params: { path: string }): Promise<KeyStoreInstance>
  export function Identities (params: { keystore: KeyStoreInstance, storage: Storage }): Promise<IdentitiesInstance>
  export function IPFSAccessController (params?: { write?: string[], storage?: Storage }): AccessControllerFactory
  export function IPFSBlockStorage (params: { ipfs: unknown, pin?: boolean, timeout?: number }): Promise<Storage>
  export function LRUStorage (params?: { size?: number }): Promise<Storage>
  export function ComposedStorage (a: Storage, b: Storage): Promise<Storage>
}

/** OrbitDB's own signature check, for comparison in tests (no exports map: the file is reachable) */
declare module '@orbitdb/core/src/key-store.js' {
  export function verifyMessage (signature: string, publicKey: string, data: Uint8Array | string): Promise<boolean>
}
