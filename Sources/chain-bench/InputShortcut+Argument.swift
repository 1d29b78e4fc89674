import ArgumentParser
import ChainModel

/// `--input-shortcut none|pca`.
extension InputShortcut: ExpressibleByArgument {}
