export { Cluster, type NodeProc } from '../../src/bench/cluster.js'
