import ArgumentParser
import ChainModel

/// `--scene-negatives batch|video`.
extension SceneChangeForm.Negatives: ExpressibleByArgument {}
