import ArgumentParser
import ChainModel

/// `--position-index frame|stretched`.
extension PositionIndex: ExpressibleByArgument {}
