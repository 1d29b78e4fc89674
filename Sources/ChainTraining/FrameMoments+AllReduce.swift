import ChainDistributed
import ChainNumerics

extension FrameMoments {
    /// Sums the moments (and row counts) of every rank: afterwards each holds the whole sample's.
    mutating func allReduce(_ comm: Communicator) {
        flush()
        sums.withUnsafeMutableBufferPointer { comm.allReduce($0) }
        setRows(comm.allReduce(rows))
    }
}
