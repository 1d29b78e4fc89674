import ArgumentParser
import ChainModel

/// `--pooling codes|activations`.
extension CodePooling: ExpressibleByArgument {}
