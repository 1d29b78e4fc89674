import ChainDistributed
import ChainModel

extension StepLosses {
    /// The field-wise sum over all ranks (one all-reduce of nine numbers; collective).
    public func allReduced(_ comm: Communicator) -> StepLosses {
        var values = [
            contrastive, order, scene, reconstruction, total, Double(orderCorrect), Double(orderFrames),
            Double(scenes), Double(videosWithoutScenes),
        ]
        values.withUnsafeMutableBufferPointer { comm.allReduce($0) }
        var sum = StepLosses()
        sum.contrastive = values[0]; sum.order = values[1]; sum.scene = values[2]; sum.reconstruction = values[3]
        sum.total = values[4]
        sum.orderCorrect = Int(values[5]); sum.orderFrames = Int(values[6])
        sum.scenes = Int(values[7]); sum.videosWithoutScenes = Int(values[8])
        return sum
    }
}
