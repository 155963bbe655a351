/**
 * Node 20 lacks Promise.withResolvers (Node 22+). it-queue (via mortice, used by
 * libp2p's peer store and Helia) calls it, and the failure surfaced as a
 * misleading "Pubsub is not started" at stop. Imported first by
 * every entry point and by the test setup, before libp2p loads.
 */
interface Resolvers<T> { promise: Promise<T>, resolve: (v: T | PromiseLike<T>) => void, reject: (e?: unknown) => void }
const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> (): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
export {}
