import ArgumentParser
import ChainTraining

extension CheckpointManager.Resume: ExpressibleByArgument {
    /// `none`, `auto`, or a checkpoint file.
    public init?(argument: String) { self.init(argument) }

    public var defaultValueDescription: String {
        switch self {
        case .none: "none"
        case .auto: "auto"
        case .path(let path): path
        }
    }
}
